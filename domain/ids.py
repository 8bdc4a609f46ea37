"""Identifier rules shared by commands and the API."""

from __future__ import annotations

import re
import uuid
from typing import Final

DATABASE_NAME: Final = re.compile(r"^[a-z][a-z0-9_-]{2,49}$")
BRANCH_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,99}$")
INSTANCE_ID: Final = re.compile(r"^[A-Za-z0-9_:.\-]{1,255}$")
COMMAND_ID: Final = re.compile(r"^[A-Za-z0-9_:.\-]{1,200}$")


def new_command_id() -> str:
    return str(uuid.uuid4())


def instance_aggregate_id(class_id: str, instance_id: str) -> str:
    """Stream id of an instance: class ids never contain '/', so this is unambiguous."""
    return f"{class_id}/{instance_id}"


def split_instance_aggregate_id(aggregate_id: str) -> tuple[str, str]:
    class_id, _, instance_id = aggregate_id.partition("/")
    return class_id, instance_id
