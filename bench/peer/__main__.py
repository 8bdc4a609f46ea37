"""SPICE side by side with PostGraphile v4, a GraphQL server over PostgreSQL tables.

Needs PostgreSQL (`scripts/services.sh up postgres && eval "$(scripts/services.sh
env)"`) and Node.js 20 with npm; PostGraphile comes from this folder's
package-lock.json (`npm ci` when node_modules is missing or stale). Run:

    python -m bench.peer [--scale 1 --scale 10] [--runs 5] [--only 3hop|byid|load] [--keep]
                         [--terminusdb]

Data at scale 1 (--scale N multiplies every count): 10 regions, 1,000 customers,
5,000 products, 10,000 reviews; Review.about -> Product, Product.owned_by ->
Customer, Customer.in_region -> Region, each MANY_TO_ONE, two strings per class.
PostGraphile serves plain tables (text keys, a foreign key and its index per
link) filled by COPY, in a fresh database; it runs with the production options
its documentation recommends (no query log, no GraphiQL, NODE_ENV=production).
SPICE defines the ontology through /graphql (defineClass) and is filled through
its bulk mutations (createReviews, ..., 1,000 instances each, 4 in flight), once
on PostgreSQL (a fresh database; memory bus, SQLite FTS search) and once on the
embedded default (SQLite files), each a `spice serve` process with its workers.
With --terminusdb, a third SPICE server runs on PostgreSQL with the TerminusDB graph
store (SPICE_TEST_TERMINUSDB_URL, `scripts/services.sh up terminusdb`), on a fresh
database prefix deleted on exit.
Every request to SPICE carries the bootstrap admin token generated for its
process (SPICE_ADMIN_TOKEN); what a VIEWER token with row filters costs instead
is measured by `python -m bench.peer.secured`.
Every server is one process on a free loopback port; reads start once SPICE has
projected and indexed everything.

Measured, each read figure the median of --runs runs, the servers taking turns
within each run: (a) 3hop: p50 of a 3-hop read of 1,000 reviews with product,
owner and region (10 requests, one client); (b) byid: product by id at random
ids, requests/s with 1 and with 8 clients (2,000 requests). The load client is a
separate process using bench.load's keep-alive client. Both answers are checked
against the data before anything is timed; a wrong answer aborts. (c) load: the
SPICE bulk load rate in instances/s, once per scale: until every mutation was
answered (accepted) and until the graph projection applied the last one. Ratios
are SPICE / PostGraphile: for latency spice_p50 / peer_p50 (above 1 is slower),
for throughput spice_rps / peer_rps (below 1 is slower). Servers and databases
are removed on exit, also on error or Ctrl-C; --keep leaves the last scale's
servers up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import median_of
from bench.peer import loading, measure, servers
from bench.peer.shape import counts, total

SECTIONS = ("3hop", "byid", "load")
PEER = "PostGraphile"
SPICE_POSTGRES = "SPICE PostgreSQL"
SPICE_EMBEDDED = "SPICE embedded"
SPICE_TERMINUS = "SPICE TerminusDB"
CONCURRENCY = (1, 8)


@dataclass
class Figures:
    """Per metric and server the values of every run; load once per SPICE server."""

    reads: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    loads: dict[str, loading.LoadTimes] = field(default_factory=dict)
    copy_seconds: float | None = None

    def add(self, metric: str, label: str, value: float) -> None:
        self.reads.setdefault(metric, {}).setdefault(label, []).append(value)


def _scales(values: list[str] | None) -> list[int]:
    found = [int(v) for text in values or ["1"] for v in text.split(",") if v]
    if not found or min(found) < 1:
        raise SystemExit("--scale takes positive integers")
    return found


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--scale", action="append", help="1, 10, ... (repeatable or comma-separated; default 1)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=5, help="median of this many runs (default 5)")  # fmt: skip
    parser.add_argument("--only", choices=SECTIONS, action="append", help="measure only this section (repeatable)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="leave the last scale's servers up until Ctrl-C")  # fmt: skip
    parser.add_argument("--terminusdb", action="store_true", help="also SPICE with the TerminusDB graph store")  # fmt: skip
    args = parser.parse_args()
    args.scales = _scales(args.scale)
    if args.runs < 1:
        raise SystemExit("--runs takes a positive integer")
    args.only = set(args.only or SECTIONS)
    return args


def start(stack: ExitStack, scale: int, figures: Figures, *, reads: bool, terminus: bool = False) -> dict[str, servers.Server]:  # fmt: skip
    """The servers, filled; PostGraphile only if reads are measured."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-peer-")))
    started: dict[str, servers.Server] = {}
    if reads:
        executable = servers.install_peer()
        peer_db = stack.enter_context(servers.database("peer"))
        figures.copy_seconds = asyncio.run(loading.copy_tables(peer_db, scale))
        started[PEER] = stack.enter_context(servers.postgraphile(executable, peer_db, tmp))  # fmt: skip
    spice_urls = {
        SPICE_POSTGRES: stack.enter_context(servers.database("spice")),
        SPICE_EMBEDDED: f"sqlite+aiosqlite:///{tmp / 'embedded' / 'spice.db'}",
    }
    graphs = dict.fromkeys(spice_urls, "sql://")
    if terminus:
        spice_urls[SPICE_TERMINUS] = stack.enter_context(servers.database("spiceterminus"))  # fmt: skip
        graphs[SPICE_TERMINUS] = stack.enter_context(servers.terminus_graph())
    for label, url in spice_urls.items():
        directory = tmp / label.split()[-1].lower()
        server = stack.enter_context(servers.spice(label, url, directory, graph_url=graphs[label]))  # fmt: skip
        figures.loads[label] = asyncio.run(loading.load_spice(server, scale))
        started[label] = server
    return started


def _measure(started: dict[str, servers.Server], scale: int, args: argparse.Namespace, figures: Figures) -> None:  # fmt: skip
    plans = [measure.reads(s, scale, peer=label == PEER) for label, s in started.items()]  # fmt: skip
    for plan in plans:
        measure.verify(plan, scale)
    with measure.load_process() as pool:
        _rounds(pool, plans, args, figures)


def _rounds(pool: ProcessPoolExecutor, plans: list[measure.Reads], args: argparse.Namespace, figures: Figures) -> None:  # fmt: skip
    for run in range(args.runs):
        # The servers take turns, starting with another one each run.
        for plan in plans[run % len(plans) :] + plans[: run % len(plans)]:
            label = plan.server.label
            if "3hop" in args.only:
                figures.add("3hop", label, measure.hops_p50(pool, plan))
            if "byid" in args.only:
                for clients in CONCURRENCY:
                    rate = measure.by_id_rate(pool, plan, clients)
                    figures.add(f"byid{clients}", label, rate)


def one_scale(scale: int, args: argparse.Namespace, *, keep: bool) -> None:
    figures = Figures()
    with ExitStack() as stack:
        reads = bool(args.only & {"3hop", "byid"})
        started = start(stack, scale, figures, reads=reads, terminus=args.terminusdb)
        if reads:
            _measure(started, scale, args, figures)
        _print(scale, args, figures)
        if keep:
            _keep(started)


def _keep(started: dict[str, servers.Server]) -> None:
    for label, server in started.items():
        print(f"  {label}: {server.url} (log {server.log})")
    print("servers kept; Ctrl-C stops them and removes their databases", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


ROWS: dict[str, tuple[str, Callable[[float], str]]] = {
    "3hop": ("3-hop read, 1,000 roots, p50", lambda v: f"{v * 1000:.1f} ms"),
    "byid1": ("product by id, 1 client", lambda v: f"{v:.0f}/s"),
    "byid8": ("product by id, 8 clients", lambda v: f"{v:.0f}/s"),
}
WIDTH = 22


def _print(scale: int, args: argparse.Namespace, figures: Figures) -> None:
    sizes = ", ".join(f"{n:,} {k.lower()}s" for k, n in counts(scale).items())
    print(f"\nscale {scale}: {total(scale):,} instances ({sizes})")
    if figures.reads:
        labels = list(next(iter(figures.reads.values())))
        print(f"reads, median of {args.runs} runs; in brackets SPICE / PostGraphile")
        print(" " * 32 + "".join(f"{label:>{WIDTH}}" for label in labels))
    for metric, per_server in figures.reads.items():
        title, shown = ROWS[metric]
        medians = {label: median_of(values) for label, values in per_server.items()}
        peer = medians.get(PEER)
        cells = [
            shown(v) + (f" ({v / peer:.2f}x)" if peer and label != PEER else "")
            for label, v in medians.items()
        ]
        print(f"  {title:30s}" + "".join(f"{c:>{WIDTH}}" for c in cells))
    if figures.copy_seconds is not None:
        print(f"  PostGraphile tables by COPY (with FK indexes, ANALYZE): {figures.copy_seconds:.1f} s")  # fmt: skip
    if "load" in args.only:
        for label, times in figures.loads.items():
            print(f"  {label} bulk load: {total(scale) / times.accepted:,.0f} instances/s "
                  f"accepted ({times.accepted:.1f} s), {total(scale) / times.applied:,.0f} "
                  f"instances/s applied to the graph ({times.applied:.1f} s)")  # fmt: skip


def main() -> None:
    args = _parse()
    try:
        for n, scale in enumerate(args.scales):
            one_scale(scale, args, keep=args.keep and n == len(args.scales) - 1)
    except KeyboardInterrupt:
        raise SystemExit("interrupted; servers stopped, databases dropped") from None


if __name__ == "__main__":
    main()
