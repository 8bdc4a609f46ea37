"""Where the TerminusDB graph store connects, and under which names it stores."""

from __future__ import annotations

from dataclasses import dataclass, field

# TerminusDB's out-of-the-box administrator, the official client's defaults too.
DEFAULT_USER = "admin"
DEFAULT_KEY = "root"


@dataclass(frozen=True, slots=True, kw_only=True)
class TerminusConfig:
    """`server_url` is http(s)://host:port[/path]; every SPICE database becomes the
    TerminusDB database `<prefix>_<db>` of `team`."""

    server_url: str
    team: str = "admin"
    user: str = DEFAULT_USER
    key: str = field(default=DEFAULT_KEY, repr=False)  # never printed in errors
    prefix: str = "spice"
    timeout: float = 30.0
