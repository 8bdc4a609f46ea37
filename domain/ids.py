"""Identifier rules shared by commands and the API."""

from __future__ import annotations

import re
import uuid
from typing import Final

# `\Z`, not `$`: `$` also matches before a final newline, so `.match` took
# "name\n" for a valid name.
DATABASE_NAME: Final = re.compile(r"^[a-z][a-z0-9_-]{2,49}\Z")
BRANCH_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,99}\Z")
INSTANCE_ID: Final = re.compile(r"^[A-Za-z0-9_:.\-]{1,255}\Z")
COMMAND_ID: Final = re.compile(r"^[A-Za-z0-9_:.\-]{1,200}\Z")
_DOT_SEGMENTS: Final = frozenset({"", ".", ".."})


def branch_name_problem(name: str) -> str | None:
    """Why `name` cannot name a branch, or None if it can.

    A branch name is a path in the endpoint's URL (/graphql/{db}/{branch}), so it
    must survive the normalisation clients and proxies apply to paths: a `.` or
    `..` segment, an empty one (`a//b`, `a/`) would be rewritten on the way and
    the branch could never be reached.
    """
    if not BRANCH_NAME.match(name):
        return (
            "use 1 to 100 letters, digits, _ . - or /, starting with a letter or digit"
        )
    if any(segment in _DOT_SEGMENTS for segment in name.split("/")):
        return "each /-separated part must be non-empty and neither . nor .."
    return None


def new_command_id() -> str:
    return str(uuid.uuid4())


def instance_aggregate_id(class_id: str, instance_id: str) -> str:
    """Stream id of an instance: class ids never contain '/', so this is unambiguous."""
    return f"{class_id}/{instance_id}"


def split_instance_aggregate_id(aggregate_id: str) -> tuple[str, str]:
    class_id, _, instance_id = aggregate_id.partition("/")
    return class_id, instance_id
