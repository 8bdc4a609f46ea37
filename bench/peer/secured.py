"""What authentication and row filters cost on bench.peer's reads (`python -m
bench.peer.secured [--scale N] [--runs 5]`); PostgreSQL as for bench.peer.

Authentication cannot be switched off, so the baseline is the cheapest
principal: the bootstrap admin token (an ADMIN, authenticated from the process's
cache; no access policy applies to it). Against it, in the same run, on the same
two `spice serve` processes (embedded and PostgreSQL) and data as bench.peer
(without PostGraphile), a VIEWER token of the database made with createToken:

- "Review filter": a row filter on Review (setAccessPolicy for VIEWER) that
  hides the reviews whose number ends in 0, a tenth of them;
- "4 filters": that filter, and on each other class of the 3-hop path (Product,
  Customer, Region) one that admits every object (its name starts with what
  every generated name starts with), so every hop is checked and the answers
  stay those of the Review filter.

The policies are switched through setAccessPolicy before each secured variant
(reads start after bench.peer's warm-up). Each figure as bench.peer measures it
(3-hop p50 over 1,000 roots, product by id with 1 and 8 clients), the median of
--runs runs; within a run the variants take turns, each run starting with
another one. Before anything is timed, the admin's answers are checked exactly
as bench.peer checks them; the VIEWER's 3-hop answer must hold only admitted
reviews, as many as the filter leaves in the first page, with their hops right,
a hidden review must read as null by id (the admin reads it), and products by id
must read as for the admin. Ratios are secured / admin, each the median of the
runs' ratios (a secured figure against the admin's measured next to it in the
same run): above 1 is slower for latency, below 1 is slower for throughput.
"""

from __future__ import annotations

import argparse
import dataclasses
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from typing import Any

from bench.common import median_of
from bench.peer import measure, servers
from bench.peer.__main__ import CONCURRENCY, ROWS, WIDTH, Figures, start
from bench.peer.servers import DB, Server
from bench.peer.shape import (
    BY_NAME,
    HOP_ROOTS,
    KINDS,
    Kind,
    check_hops,
    counts,
    hop_roots,
    total,
    value,
)

ADMIN, REVIEWS, PATH = "admin", "Review filter", "4 filters"
VARIANTS = (ADMIN, REVIEWS, PATH)
KEEP_REVIEW = {"not": {"title": {"endsWith": "0"}}}
HIDDEN_REVIEW = "r10"


def _all_of(kind: Kind) -> dict[str, Any]:
    """A row filter admitting every object: shape.value's common prefix."""
    name = kind.strings[0]
    return {name: {"startsWith": value(kind, name, 0).removesuffix("0")}}


POLICIES: dict[str, dict[str, dict[str, Any] | None]] = {
    REVIEWS: {k.name: KEEP_REVIEW if k.name == "Review" else None for k in KINDS},
    PATH: {k.name: KEEP_REVIEW if k.name == "Review" else _all_of(k) for k in KINDS},
}
MINT_VIEWER = "mutation($g: [GrantInput!]!) { createToken(name: \"bench-viewer\", grants: $g) { id secret } }"  # fmt: skip
SET_POLICY = f'mutation($c: ID!, $f: JSON) {{ setAccessPolicy(db: "{DB}", classId: $c, role: VIEWER, rowFilter: $f) {{ classId }} }}'  # fmt: skip
REVIEW_BY_ID = "query($id: ID!) { review(id: $id) { reviewId title } }"


def admitted(title: str) -> bool:
    """KEEP_REVIEW in Python."""
    return not title.endswith("0")


def _system(server: Server, query: str, **variables: Any) -> Any:
    body = {"query": query, "variables": variables}
    return measure.answer(server, body, server.system)


def viewer(server: Server) -> Server:
    """The server as a VIEWER of the bench database sees it (a new API token)."""
    grants = [{"db": DB, "role": "VIEWER"}]
    secret = _system(server, MINT_VIEWER, g=grants)["createToken"]["secret"]
    return dataclasses.replace(server, headers=servers.bearer(secret))


def set_policies(admin: Server, variant: str) -> None:
    """The VIEWER's row filters of `variant` (None removes a class's policy)."""
    for class_id, row_filter in POLICIES[variant].items():
        _system(admin, SET_POLICY, c=class_id, f=row_filter)


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """One server's reads per variant; `admin` sets the policies."""

    admin: Server
    reads: dict[str, measure.Reads]


def plan(admin: Server, scale: int) -> Plan:
    base = measure.reads(admin, scale, peer=False)
    seen_as = viewer(admin)
    found = {ADMIN: base}
    for variant in (REVIEWS, PATH):
        server = dataclasses.replace(seen_as, label=f"{admin.label}, {variant}")
        found[variant] = dataclasses.replace(base, server=server)
    return Plan(admin, found)


def verify(p: Plan, scale: int) -> None:
    measure.verify(p.reads[ADMIN], scale)
    for variant in (REVIEWS, PATH):
        set_policies(p.admin, variant)
        verify_secured(p.reads[variant], p.admin, scale)


def verify_secured(reads: measure.Reads, admin: Server, scale: int) -> None:
    """Aborts unless the VIEWER's 3-hop answer holds only admitted reviews, as
    many as the filter leaves of the first page, each with its hops as the data
    defines them; a hidden review reads as null (not so for the admin); and
    products read by id as for the admin."""
    label = reads.server.label
    roots = hop_roots(measure.answer(reads.server, reads.hops), peer=False)
    shown = [r["title"] for r in roots if not admitted(r["title"])]
    if shown:
        raise SystemExit(f"{label}: the row filter let through {shown[:5]}")
    reviews = BY_NAME["Review"]
    left = sum(admitted(value(reviews, "title", i)) for i in range(counts(scale)["Review"]))  # fmt: skip
    if len(roots) != min(HOP_ROOTS, left):
        raise SystemExit(f"{label}: {len(roots)} roots, expected {min(HOP_ROOTS, left)}")  # fmt: skip
    problem = check_hops(roots, scale, peer=False)
    if problem:
        raise SystemExit(f"{label}: wrong 3-hop answer: {problem}")
    hidden = {"query": REVIEW_BY_ID, "variables": {"id": HIDDEN_REVIEW}}
    if measure.answer(reads.server, hidden)["review"] is not None:
        raise SystemExit(f"{label}: review {HIDDEN_REVIEW} is not hidden")
    if measure.answer(admin, hidden)["review"] is None:
        raise SystemExit(f"{admin.label}: review {HIDDEN_REVIEW} is missing")
    measure.verify_by_id(reads)


def rounds(pool: ProcessPoolExecutor, plans: list[Plan], runs: int, figures: Figures) -> None:  # fmt: skip
    for run in range(runs):
        for p in plans:
            # The variants take turns, starting with another one each run.
            for variant in (
                VARIANTS[run % len(VARIANTS) :] + VARIANTS[: run % len(VARIANTS)]
            ):
                if variant != ADMIN:
                    set_policies(p.admin, variant)
                reads = p.reads[variant]
                key = _key(p, variant)
                figures.add("3hop", key, measure.hops_p50(pool, reads))
                for clients in CONCURRENCY:
                    rate = measure.by_id_rate(pool, reads, clients)
                    figures.add(f"byid{clients}", key, rate)


def _key(p: Plan, variant: str) -> str:
    return f"{p.admin.label} / {variant}"


def paired(secured: list[float], admin: list[float]) -> float:
    """The median of the runs' ratios: each secured figure against the admin's
    of the same run, measured next to it (a busy machine's slow spells then
    fall on both)."""
    return median_of([s / a for s, a in zip(secured, admin, strict=True)])


def overhead(metric: str, ratio: float) -> float:
    """The extra time per read: of the latency, or of 1 / throughput."""
    return ratio - 1 if metric == "3hop" else 1 / ratio - 1


def report(plans: list[Plan], scale: int, runs: int, figures: Figures) -> None:
    print(f"\nscale {scale}: {total(scale):,} instances; median of {runs} runs")
    print("in brackets the median of the runs' ratios secured / admin (3-hop: above 1 is slower; by id: below 1 is slower)")  # fmt: skip
    worst = (-1.0, "")
    for p in plans:
        print(f"{p.admin.label:32s}" + "".join(f"{v:>{WIDTH}}" for v in VARIANTS))
        for metric, per_key in figures.reads.items():
            title, shown = ROWS[metric]
            base, *secured = [per_key[_key(p, v)] for v in VARIANTS]
            ratios = [paired(values, base) for values in secured]
            cells = [shown(median_of(base))] + [
                f"{shown(median_of(v))} ({r:.2f}x)" for v, r in zip(secured, ratios, strict=True)
            ]  # fmt: skip
            print(f"  {title:30s}" + "".join(f"{c:>{WIDTH}}" for c in cells))
            for variant, r in zip(VARIANTS[1:], ratios, strict=True):
                where = f"{title}, {p.admin.label}, {variant}"
                worst = max(worst, (overhead(metric, r), where))
    print(f"largest overhead (extra time per read): {worst[0]:+.1%} ({worst[1]})")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peer.secured", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--scale", type=int, default=1, help="1, 10, ... (default 1)")
    parser.add_argument("--runs", type=int, default=5, help="median of this many runs (default 5)")  # fmt: skip
    args = parser.parse_args()
    if args.scale < 1 or args.runs < 1:
        raise SystemExit("--scale and --runs take positive integers")
    figures = Figures()
    try:
        with ExitStack() as stack:
            started = start(stack, args.scale, figures, reads=False)
            plans = [plan(server, args.scale) for server in started.values()]
            for p in plans:
                verify(p, args.scale)
            with measure.load_process() as pool:
                rounds(pool, plans, args.runs, figures)
            report(plans, args.scale, args.runs, figures)
    except KeyboardInterrupt:
        raise SystemExit("interrupted; servers stopped, databases dropped") from None


if __name__ == "__main__":
    main()
