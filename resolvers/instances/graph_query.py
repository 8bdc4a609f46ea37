"""`graphQuery(input)`: breadth first along the hops, one batched store call per
hop (and one for the start nodes, one for the search documents of all nodes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from resolvers.context import Context, Info
from resolvers.instances import access, loaders, meta
from resolvers.instances.as_of import read_position
from resolvers.instances.graph_request import GraphRequest, Hop, parse_request
from resolvers.instances.reads import scan
from resolvers.instances.rows import NodeRow, dangling, row
from resolvers.instances.where import Where
from schema.ontology.plan import ClassPlan

Pair = tuple[NodeRow, NodeRow]


@dataclass(frozen=True, slots=True)
class GraphNode:
    key: str
    id: str
    class_id: str
    hop: int
    seq: int | None
    branch: str | None
    data_status: str
    data: Mapping[str, Any] | None
    links: Mapping[str, Any] | None
    document: Mapping[str, Any] | None
    index_status: meta.IndexStatus | None


@dataclass(frozen=True, slots=True)
class GraphEdge:
    source: str
    target: str
    predicate: str
    hop: int


@dataclass(frozen=True, slots=True)
class GraphPath:
    nodes: list[str]


@dataclass(frozen=True, slots=True)
class GraphQueryResult:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    paths: list[GraphPath]
    warnings: list[str]
    truncated: bool


def key_of(node: NodeRow) -> str:
    return f"{node.class_id}/{node.instance_id}"


async def run(
    plans: Mapping[str, ClassPlan], info: Info, *, request: Mapping[str, Any]
) -> GraphQueryResult:
    ctx = info.context
    req = parse_request(request, plans, ctx.ports.limits)
    access.check_reads(ctx, req.start, where=req.where)
    req.as_of = await read_position(
        ctx, request.get("as_of"), request.get("as_of_time")
    )
    guard = access.guard(ctx, req.start)
    walk = Walk(req)
    frontier = walk.start(_unhidden(guard, await _start_rows(ctx, req, guard)))
    for index, hop in enumerate(req.hops, start=1):
        if not frontier:
            break
        pairs = await _expand(ctx, hop, frontier, req.as_of)
        if guard is not None:  # never reached, so never traversed either
            pairs = [(s, t) for s, t in pairs if not guard.hides(t)]
        frontier = walk.step(index, hop, pairs)
    return await _result(ctx, walk, req, guard)


def _unhidden(guard: access.Guard | None, rows: list[NodeRow]) -> list[NodeRow]:
    return rows if guard is None else access.unhidden(guard, rows)


async def _start_rows(
    ctx: Context, req: GraphRequest, guard: access.Guard | None
) -> list[NodeRow]:
    """The start nodes (as stored; the caller leaves hidden ones out)."""
    classes = req.start.class_ids
    if req.ids is not None:
        nodes = await loaders.nodes(ctx, classes, req.as_of).load_many(req.ids)
        return [row(n, req.as_of) for n in nodes if n is not None]
    if req.where is None and guard is not None and guard.filters(classes):
        # The first `first` nodes shown, not the first `first` stored.
        rows = await scan(ctx, req.start, req.as_of)
    elif req.where is None:
        found = await ctx.ports.graph.list_nodes(
            ctx.scope(req.as_of), classes, limit=req.offset + req.first
        )
        rows = [row(n, req.as_of) for n in found]
    else:
        every = await scan(ctx, req.start, req.as_of)
        rows = await Where(ctx, req.as_of).select(every, req.where, req.start)
    return rows[req.offset : req.offset + req.first]


async def _expand(
    ctx: Context, hop: Hop, frontier: Sequence[NodeRow], as_of: int | None
) -> list[Pair]:
    """(source, target) of every link of the hop from the frontier, in order."""
    link = hop.link
    classes = link.target.class_ids
    if link.inverse:
        loader = loaders.linking(ctx, classes, link.predicate, as_of)
        found = await loader.load_many([r.instance_id for r in frontier])
        pairs = [(r, row(n, as_of)) for r, nodes in zip(frontier, found, strict=True)
                 for n in nodes]  # fmt: skip
    else:
        wanted = list(
            dict.fromkeys(t for r in frontier for t in r.linked(link.predicate))
        )
        nodes = await loaders.nodes(ctx, classes, as_of).load_many(wanted)
        by_id = dict(zip(wanted, nodes, strict=True))
        pairs = [
            (r, _target(link.target, t, by_id[t], as_of))
            for r in frontier
            for t in r.linked(link.predicate)
        ]
    return [(s, t) for s, t in pairs if t.class_id in hop.target_classes]


def _target(plan: ClassPlan, instance_id: str, node: Any, as_of: int | None) -> NodeRow:
    if node is None:
        return dangling(plan.class_id, instance_id, as_of, plan.key)
    return row(node, as_of)


@dataclass(slots=True)
class Walk:
    """The nodes, edges and paths found so far, within the request's limits."""

    req: GraphRequest
    nodes: dict[str, tuple[NodeRow, int]] = field(default_factory=dict)
    edges: list[GraphEdge] = field(default_factory=list)
    open_paths: dict[str, list[list[str]]] = field(default_factory=dict)
    done_paths: list[list[str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def start(self, rows: list[NodeRow]) -> list[NodeRow]:
        kept = []
        for node in rows:
            if len(self.nodes) >= self.req.max_nodes:
                self._warn(f"maxNodes ({self.req.max_nodes}) reached at the start")
                break
            self.nodes[key_of(node)] = (node, 0)
            self.open_paths[key_of(node)] = [[key_of(node)]]
            kept.append(node)
        return kept

    def step(self, index: int, hop: Hop, pairs: list[Pair]) -> list[NodeRow]:
        """Adds the hop's edges; returns the next frontier (with noCycles, only
        nodes reached for the first time go on)."""
        frontier: dict[str, NodeRow] = {}
        extended: list[tuple[str, str, list[str]]] = []
        for source, target in pairs:
            if len(self.edges) >= self.req.max_edges:
                self._warn(f"maxEdges ({self.req.max_edges}) reached at hop {index}")
                break
            added = self._node(target, index)
            if added is None:
                continue
            src, dst = key_of(source), key_of(target)
            self.edges.append(GraphEdge(src, dst, hop.link.name, index))
            extended += self._extend(src, dst, len(extended))
            if (added or not self.req.no_cycles) and target.node is not None:
                frontier.setdefault(dst, target)
        self._settle(extended, frontier)
        return list(frontier.values())

    def _node(self, target: NodeRow, index: int) -> bool | None:
        """True if newly added, False if known, None if the node limit refused it."""
        if key_of(target) in self.nodes:
            return False
        if len(self.nodes) >= self.req.max_nodes:
            self._warn(f"maxNodes ({self.req.max_nodes}) reached at hop {index}")
            return None
        self.nodes[key_of(target)] = (target, index)
        return True

    def _extend(
        self, src: str, dst: str, pending: int
    ) -> list[tuple[str, str, list[str]]]:
        if not self.req.include_paths:
            return []
        found: list[tuple[str, str, list[str]]] = []
        for path in self.open_paths.get(src, ()):
            if self.req.no_cycles and dst in path:
                continue
            if len(self.done_paths) + pending + len(found) >= self.req.max_edges:
                self._warn(f"path limit ({self.req.max_edges}) reached")
                break
            found.append((src, dst, [*path, dst]))
        return found

    def _settle(
        self, extended: list[tuple[str, str, list[str]]], frontier: dict[str, NodeRow]
    ) -> None:
        """Paths that went nowhere on this hop, or end at a node that does not go
        on, are complete; the others stay open for the next hop."""
        grown = {src for src, _, _ in extended}
        for src, paths in self.open_paths.items():
            if src not in grown:
                self.done_paths.extend(paths)
        self.open_paths = {}
        for _, dst, path in extended:
            if dst in frontier:
                self.open_paths.setdefault(dst, []).append(path)
            else:
                self.done_paths.append(path)

    def all_paths(self) -> list[list[str]]:
        still_open = (p for paths in self.open_paths.values() for p in paths)
        return [*self.done_paths, *still_open]

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


async def _result(
    ctx: Context, walk: Walk, req: GraphRequest, guard: access.Guard | None
) -> GraphQueryResult:
    live = [(n.class_id, n.instance_id) for n, _ in walk.nodes.values() if n.node]
    documents = await loaders.documents(ctx).load_many(live)
    docs = dict(zip(live, documents, strict=True))
    found = list(walk.nodes.values())
    if guard is not None:
        found = await _pruned(ctx, guard, found)
    nodes = [
        _node_out(node, hop, docs.get((node.class_id, node.instance_id)), req, guard)
        for node, hop in found
    ]
    paths = [GraphPath(p) for p in walk.all_paths()] if req.include_paths else []
    return GraphQueryResult(
        nodes=nodes,
        edges=walk.edges,
        paths=paths,
        warnings=walk.warnings,
        truncated=bool(walk.warnings),
    )


async def _pruned(
    ctx: Context, guard: access.Guard, found: list[tuple[NodeRow, int]]
) -> list[tuple[NodeRow, int]]:
    """The nodes with the ids of hidden objects left out of their `links`."""
    by_class: dict[str, list[NodeRow]] = {}
    for node, _ in found:
        by_class.setdefault(node.class_id, []).append(node)
    pruned: dict[str, NodeRow] = {}
    for class_id, rows in by_class.items():
        plan = guard.plan_of(class_id)
        if plan is not None:
            rows = await access.pruned_links(ctx, guard, plan, rows)
        pruned.update({key_of(r): r for r in rows})
    return [(pruned[key_of(n)], hop) for n, hop in found]


def _node_out(
    node: NodeRow, hop: int, doc: Any, req: GraphRequest, guard: access.Guard | None
) -> GraphNode:
    present = node.node is not None
    return GraphNode(
        key=key_of(node),
        id=node.instance_id,
        class_id=node.class_id,
        hop=hop,
        seq=node.seq if present else None,
        branch=node.branch if present else None,
        data_status=meta.status_of(node.seq, doc) if present else meta.MISSING,
        data=_data(node.values, node, guard) if present else None,
        links=dict(node.links) if present else None,
        document=_data(doc.data, node, guard)
        if req.include_documents and doc is not None
        else None,
        index_status=meta.index_status_of(doc),
    )


def _data(
    values: Mapping[str, Any], node: NodeRow, guard: access.Guard | None
) -> dict[str, Any]:
    """Values (or a search document's data, which holds links too) as the
    request may see them: masked properties left out (a JSON value cannot
    carry a field error; absent says "not readable"), links as the node's
    `links`, from which hidden objects are pruned."""
    if guard is None:
        return dict(values)
    masked = guard.rules.of(node.class_id).masked
    plan = guard.plan_of(node.class_id)
    links = {k.predicate for k in plan.links if not k.inverse} if plan else set()
    shown = {k: v for k, v in values.items() if k not in masked and k not in links}
    shown.update({k: node.links[k] for k in links if k in values and k in node.links})
    return shown
