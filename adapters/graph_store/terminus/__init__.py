"""GraphStore on TerminusDB (`terminusdb` client, the `[terminus]` extra).

Mapping
- One TerminusDB database per SPICE database, `<prefix>_<db>` in the configured
  team (names.py spells SPICE names in TerminusDB's safe characters).
- One TerminusDB branch per SPICE branch, holding **only that branch's own
  writes**: SPICE's `main` is TerminusDB's `main`; any other branch is created
  empty (schema only) on its first write. A TerminusDB branch forks the whole head
  of its origin at the moment it is created, while a SPICE branch sees its parent
  as of the fork *position*, and with at-least-once, per-aggregate delivery the
  parent's versions up to that position may not all be projected yet when the
  branch's first write arrives. So the overlay is computed at read time from the
  lineage the caller passes (`ReadScope`): each span is one TerminusDB branch read
  with `position <= min(fork limit, as_of)`, and the highest visible seq of an
  instance wins (overlay.py), exactly as the SQL graph store does in one query.
- Documents (documents.py): a `NodeVersion` per version (values and links as
  canonical JSON strings, and each non-null value again as a `Scalar`
  subdocument in a form WOQL compares exactly, scalars.py) and an `Edge` per
  link target, each with a Lexical key on the digest of its identity (db,
  branch, class, id, seq [, predicate, target]). `put` inserts only the keys
  not stored yet, so a redelivered version is a no-op and a stored version is
  never overwritten; each put is one commit per (database, branch).
- Queries (woql.py) are built with the official client's `WOQLQuery` builder;
  every caller value enters as a typed literal, never as a string the builder
  could read as a variable or a node.
- `find` and `count_where` are one WOQL query each over the whole lineage
  (find.py: each span read with `using`, the latest visible version decided in
  the query), with filters and sort keys compiled by filters.py; what that
  cannot evaluate exactly (regex, sort keys through relationships, ...) is
  declined (None) and evaluated by the caller in memory. `aggregate` and
  `find_related` are declined.

Costs that differ from the SQL store: TerminusDB has no "latest version per
instance" aggregate. `find`, `count_where` and `count` decide it in the query
with an anti-join per candidate (no visible version with a higher seq); the
other reads fetch (class, id, seq, deleted) of the candidate versions and pick
the winners client-side, then fetch only the winners' documents, and
`list_nodes` sorts the classes' ids on the server per page. `limit_per_target`
returns the same result as on SQL but reads all current edges to the targets.
Measured on v11.1.14 over 2,000 nodes (a two-condition filter, sorted, first
20): `find` 0.3 s in one query, against 9 s for what callers did while it was
declined (every node through `list_nodes`, then filtered in memory).

Nothing here is imported unless SPICE_GRAPH_URL is `terminusdb://`; config,
names, overlay, scalars and documents are pure and need no driver (woql,
filters and find need the client's query builder, nothing else of it).
"""
