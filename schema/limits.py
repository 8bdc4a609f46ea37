"""The limits every GraphQL request runs under: page sizes, waits, protection.

They live with the schema because the protection checks (schema/protection.py)
read them before any resolver runs; resolvers read them through their context,
and the application fills them from its settings (app/graphql/endpoint.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    default_page_size: int = 100
    max_page_size: int = 1000
    # `wait:` on mutations is bounded so a stalled worker cannot hold a request.
    max_wait_seconds: float = 10.0
    subscription_timeout_seconds: float = 300.0
    poll_interval_seconds: float = 0.2
    # Request protection, checked before execution (schema/protection.py).
    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5000
    # Estimated resolved fields: page sizes multiplied across nested connections.
    max_cost: int = 200_000
    max_batch: int = 10
    max_body_bytes: int = 1_048_576
    # A multipart upload's whole body (SPICE_UPLOAD_MAX_BYTES).
    upload_max_bytes: int = 1 << 30
    introspection: bool = True
    # Class lists are filtered and sorted in the graph store where it can.
    filter_pushdown: bool = True
    # `where: {search: …}`: most document ids the text part may match (more is
    # a SEARCH_TOO_BROAD error, never a cut set); they travel in one statement.
    search_max_ids: int = 10_000
    # graphQuery: default and hard caps of nodes and edges per query.
    graph_default_nodes: int = 1000
    graph_max_nodes: int = 10_000
    graph_default_edges: int = 5000
    graph_max_edges: int = 50_000
