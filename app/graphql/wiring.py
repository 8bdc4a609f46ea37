"""The resolvers every generated schema binds, handed to its builder from here.

`schema/ontology` shapes the types and `resolvers/instances` reads and writes
instances; the composition root is the one place that knows both, so neither
package imports the other's side (`schema` imports no resolvers).
"""

from __future__ import annotations

from resolvers import subscriptions
from resolvers.instances import (
    aggregates,
    changes,
    diff,
    graph_query,
    history,
    meta,
    reads,
    search,
    writes,
)
from schema.ontology.wiring import Resolvers

INSTANCE_RESOLVERS = Resolvers(
    one=reads.one,
    many=reads.many,
    aggregate=aggregates.aggregate,
    to_one=reads.to_one,
    to_one_batch=reads.to_one_batch,
    to_many=reads.to_many,
    history=history.events,
    diff=diff.diff,
    group_by=aggregates.group_by,
    data_status=meta.data_status,
    index_status=meta.index_status,
    search=search.search,
    graph_query=graph_query.run,
    create=writes.create,
    update=writes.update,
    delete=writes.delete,
    create_many=writes.create_many,
    upsert_many=writes.upsert_many,
    command_status=subscriptions.command_status,
    changed=changes.changed,
)
