"""Names on the TerminusDB side: database and branch ids, document keys.

TerminusDB ids are kept to `[A-Za-z0-9_]` (the set every TerminusDB client
accepts; `/` would also split resource paths), so SPICE names are spelled with
an injective escape: `_` -> `__`, `-` -> `_h`, `.` -> `_d`, `/` -> `_s`, and any
other character -> `_x` + six hex digits. `main` stays `main`, TerminusDB's
default branch.
"""

from __future__ import annotations

import hashlib

from adapters.serialization import canonical_json

_ESCAPES = {"_": "__", "-": "_h", ".": "_d", "/": "_s"}


def encode_name(name: str) -> str:
    parts = []
    for char in name:
        if char.isascii() and char.isalnum():
            parts.append(char)
        elif char in _ESCAPES:
            parts.append(_ESCAPES[char])
        else:
            parts.append(f"_x{ord(char):06x}")
    return "".join(parts)


def database_id(prefix: str, db: str) -> str:
    """The TerminusDB database of a SPICE database; prefixes hold no `_`, so
    `<prefix>_` tells the databases of one deployment from another's."""
    return f"{prefix}_{encode_name(db)}"


def owned_by(prefix: str, database: str) -> bool:
    return database.startswith(f"{prefix}_")


def branch_id(branch: str) -> str:
    return encode_name(branch)


def version_key(
    *, db: str, branch: str, class_id: str, instance_id: str, seq: int
) -> str:
    """The identity of a node version, (db, branch, class, id, seq), as a hex
    digest: the Lexical key of its document, so a re-put names the same document."""
    return _digest(["NodeVersion", db, branch, class_id, instance_id, seq])


def edge_key(version: str, predicate: str, target: str) -> str:
    """One link of one version (the version's key, predicate, target)."""
    return _digest(["Edge", version, predicate, target])


def _digest(parts: list[object]) -> str:
    return hashlib.sha256(canonical_json(parts).encode()).hexdigest()
