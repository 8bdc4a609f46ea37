"""Index names, mappings, documents and queries shared by the OpenSearch and
Elasticsearch search indexes: both speak this JSON DSL.

Names: the alias of (db, branch) is `<prefix>.<db>.<branch>` and its concrete
index `<prefix>_<generation>.<db>.<branch>`. Database names and encoded branch
names contain no dot, so `<prefix>.<db>.*` matches exactly that database's
aliases and never a concrete index.

Documents keep the instance data as stored JSON (`data`, not indexed) plus typed
copies of its top-level values by JSON kind: strings in `s.<field>` (text, with
`keyword` and `date` subfields), numbers and numeric strings in `n.<field>`
(double), booleans in `b.<field>`. A field's mapping therefore never depends on
which class wrote it first, so no value can be rejected by a mapping conflict.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from adapters.search_index.body import body_text
from domain.ports import FieldFilter, SearchDocument

PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
_BRANCH_KEEP = re.compile(r"[a-z0-9-]")
_MAX_BRANCH_NAME = 150
_RANGE = ("gt", "gte", "lt", "lte")
SORT_KEYS = ("class_id", "instance_id", "branch")


def encode_branch(branch: str) -> str:
    """Injective and index-name safe: `[a-z0-9-]` kept, anything else `_xx` (hex);
    very long names become `_z` + a hash (`_z` is never produced by escaping)."""
    encoded = "".join(c if _BRANCH_KEEP.match(c) else f"_{ord(c):02x}" for c in branch)
    if len(encoded) > _MAX_BRANCH_NAME:
        return "_z" + hashlib.sha256(branch.encode()).hexdigest()[:40]
    return encoded


def alias_name(prefix: str, db: str, branch: str) -> str:
    return f"{prefix}.{db}.{encode_branch(branch)}"


def index_base(prefix: str, generation: str | None) -> str:
    """The name stem of aliases (no generation) or of one generation's indexes."""
    return prefix if generation is None else f"{prefix}_{generation}"


def alias_for_index(prefix: str, index: str) -> str:
    """`<prefix>_<generation>.<db>.<branch>` -> `<prefix>.<db>.<branch>`."""
    _, _, rest = index.partition(".")
    return f"{prefix}.{rest}"


def doc_id(class_id: str, instance_id: str) -> str:
    # Neither a class id nor an instance id can contain a slash.
    return f"{class_id}/{instance_id}"


def index_body(
    *, shards: int, replicas: int, refresh_interval: str = "1s"
) -> dict[str, Any]:
    keyword = {"type": "keyword"}
    return {
        "settings": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "refresh_interval": refresh_interval,
        },
        "mappings": {
            "dynamic": False,
            "date_detection": False,
            "numeric_detection": False,
            "dynamic_templates": [
                {"strings": {"path_match": "s.*", "mapping": _STRING_MAPPING}},
                {
                    "numbers": {
                        "path_match": "n.*",
                        "mapping": {"type": "double", "ignore_malformed": True},
                    }
                },
                {"booleans": {"path_match": "b.*", "mapping": {"type": "boolean"}}},
            ],
            "properties": {
                **dict.fromkeys(("db", "branch", "class_id", "instance_id"), keyword),
                "seq": {"type": "long"},
                "position": {"type": "long"},
                "deleted": {"type": "boolean"},
                "indexed_at": {"type": "date"},
                "data": {"type": "object", "enabled": False},
                "body": {"type": "text"},
                **{kind: {"type": "object", "dynamic": True} for kind in "snb"},
            },
        },
    }


_STRING_MAPPING = {
    "type": "text",
    "fields": {
        "keyword": {"type": "keyword", "ignore_above": 2048},
        "date": {
            "type": "date",
            "format": "strict_date_optional_time",
            "ignore_malformed": True,
        },
    },
}


def source(document: SearchDocument, indexed_at: str) -> dict[str, Any]:
    d = document
    return {
        "db": d.db,
        "branch": d.branch,
        "class_id": d.class_id,
        "instance_id": d.instance_id,
        "seq": d.seq,
        "position": d.position,
        "deleted": d.deleted,
        "indexed_at": indexed_at,
        "data": dict(d.data),
        "body": body_text(d),
        **typed_fields(d.data),
    }


def typed_fields(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    typed: dict[str, dict[str, list[Any]]] = {"s": {}, "n": {}, "b": {}}
    for name, value in data.items():
        if not FIELD.match(name):
            continue
        for item in value if isinstance(value, list) else [value]:
            for kind, typed_value in _typed(item):
                typed[kind].setdefault(name, []).append(typed_value)
    return {
        kind: {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
        for kind, fields in typed.items()
    }


def _typed(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, bool):
        yield "b", value
    elif isinstance(value, int | float):
        if math.isfinite(value):
            yield "n", float(value)
    elif isinstance(value, str):
        yield "s", value
        if _NUMBER.match(value) and math.isfinite(float(value)):
            # Decimals travel as strings ("9.99"): numeric filters still apply.
            yield "n", float(value)


def document(hit_source: Mapping[str, Any]) -> SearchDocument:
    s = hit_source
    return SearchDocument(
        db=s["db"],
        branch=s["branch"],
        class_id=s["class_id"],
        instance_id=s["instance_id"],
        seq=int(s["seq"]),
        position=int(s["position"]),
        deleted=bool(s["deleted"]),
        data=s.get("data") or {},
        indexed_at=s.get("indexed_at"),
    )


def search_query(
    db: str,
    *,
    text: str | None,
    class_ids: Sequence[str] | None,
    filters: Sequence[FieldFilter],
) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = [
        {"term": {"db": db}},
        {"term": {"deleted": False}},
    ]
    if class_ids is not None:
        clauses.append({"terms": {"class_id": list(class_ids)}})
    clauses.extend(filter_clause(f) for f in filters)
    query: dict[str, Any] = {"bool": {"filter": clauses}}
    if text and text.strip():
        # Every word required, the last one as a prefix (like the SQLite FTS index).
        query["bool"]["must"] = [
            {"match_bool_prefix": {"body": {"query": text.strip(), "operator": "and"}}}
        ]
    return query


def search_sort(*, by_score: bool) -> list[Any]:
    keys: list[Any] = [{key: "asc"} for key in SORT_KEYS]
    return [{"_score": "desc"}, *keys] if by_score else keys


def filter_clause(f: FieldFilter) -> dict[str, Any]:
    if not FIELD.match(f.field):
        raise ValueError(f"invalid field name {f.field!r}")
    if f.op == "eq":
        return _equals(f.field, f.value)
    if f.op == "ne":
        return {
            "bool": {
                "filter": [{"exists": {"field": _field(f.field, f.value)}}],
                "must_not": [_equals(f.field, f.value)],
            }
        }
    if f.op in _RANGE:
        return _range(f.field, f.op, f.value)
    if f.op == "in":
        values = list(f.value)
        if not values:
            return {"match_none": {}}
        return {
            "bool": {
                "should": [_equals(f.field, v) for v in values],
                "minimum_should_match": 1,
            }
        }
    if f.op == "contains":
        pattern = re.sub(r"([\\*?])", r"\\\1", str(f.value))
        return {
            "wildcard": {
                f"s.{f.field}.keyword": {
                    "value": f"*{pattern}*",
                    "case_insensitive": True,
                }
            }
        }
    raise ValueError(f"unknown filter operator {f.op!r}")


def _field(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"b.{name}"
    if isinstance(value, int | float):
        return f"n.{name}"
    return f"s.{name}.keyword"


def _equals(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {"match_none": {}}  # as in SQL, `= NULL` matches nothing
    term = value if isinstance(value, bool | int | float) else str(value)
    return {"term": {_field(name, value): term}}


def _range(name: str, op: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str) and _DATE.match(value):
        return {"range": {f"s.{name}.date": {op: value}}}
    if value is None or isinstance(value, bool):
        return {"match_none": {}}
    return {"range": {_field(name, value): {op: value}}}
