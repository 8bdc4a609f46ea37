"""Fields resolved for many objects at once.

A field may carry, in its extensions under `BATCH`, a resolver for all the
objects of one execution wave: `batch(sources, info, **args)` returns one value
per source, in order. The lean executor (app/graphql/executor.py) calls it once
per field and wave instead of once per object: at a 1,000-object hop, a
coroutine, a DataLoader future and a task per object cost more than the store
read itself. graphql-core's executor ignores the extension and keeps calling
the field's `resolve` per object, so both must give the same values.
"""

from __future__ import annotations

BATCH = "spice_batch"
