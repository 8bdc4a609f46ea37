"""Runs every benchmark on the embedded default (and PostgreSQL if it is configured),
the comparison with PostGraphile and the security overhead at scale 1 if PostgreSQL
is, then the production-stack comparison and its CPU breakdown if every service of
scripts/services.sh is."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from bench.stack import SERVICES

BENCHMARKS = ("bench.commands", "bench.projection_lag", "bench.rebuild")


def main() -> int:
    argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__).parse_args()  # fmt: skip
    backends = ["sqlite"] + (
        ["postgres"] if os.environ.get("SPICE_TEST_POSTGRES_URL") else []
    )
    for backend in backends:
        for module in BENCHMARKS:
            subprocess.run(
                [sys.executable, "-m", module, "--backend", backend], check=True
            )
    if "postgres" in backends:
        # Larger scales take many minutes to load; they are run by hand.
        subprocess.run([sys.executable, "-m", "bench.peer", "--scale", "1"], check=True)
        subprocess.run([sys.executable, "-m", "bench.peer.secured"], check=True)
    if all(os.environ.get(name) for name in SERVICES):
        for module in ("bench.production", "bench.lag_cpu"):
            subprocess.run([sys.executable, "-m", module], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
