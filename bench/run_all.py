"""Runs every benchmark on the embedded default (and PostgreSQL if it is configured)."""

from __future__ import annotations

import os
import subprocess
import sys

BENCHMARKS = ("bench.commands", "bench.projection_lag", "bench.rebuild")


def main() -> int:
    backends = ["sqlite"] + (
        ["postgres"] if os.environ.get("SPICE_TEST_POSTGRES_URL") else []
    )
    for backend in backends:
        for module in BENCHMARKS:
            subprocess.run(
                [sys.executable, "-m", module, "--backend", backend], check=True
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
