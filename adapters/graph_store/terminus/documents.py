"""Node versions as TerminusDB documents, and the schema that types them.

A `NodeVersion` document holds one version whole (values and links as canonical
JSON strings, so any JSON value round-trips exactly) and, for queries, each
non-null value again as a `Scalar` subdocument (scalars.py); one `Edge`
document per link target serves reverse lookups. Both are keyed by a Lexical key
on the digest of their identity (see names.py), so the same version always
names the same documents.

`layout` is required: a database written before the scalars existed fails the
schema check when this schema is pushed (instead of answering filters as if
its values were null), and its graph projection must be rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.errors import StoreDataError
from adapters.graph_store.terminus.names import edge_key, version_key
from adapters.graph_store.terminus.scalars import SCALAR_CLASS, scalar_documents
from adapters.serialization import canonical_json
from domain.ports import NodeVersion

NODE = "NodeVersion"
EDGE = "Edge"
LAYOUT = 2  # 2: values also as Scalar subdocuments
_KEY = {"@type": "Lexical", "@fields": ["key"]}
_OPTIONAL_STRING = {"@type": "Optional", "@class": "xsd:string"}

SCHEMA: list[dict[str, Any]] = [
    {
        "@type": "@context",
        "@base": "terminusdb:///data/",
        "@schema": "terminusdb:///schema#",
    },
    {
        "@type": "Class",
        "@id": NODE,
        "@key": _KEY,
        "key": "xsd:string",
        "db": "xsd:string",
        "branch": "xsd:string",
        "class_id": "xsd:string",
        "instance_id": "xsd:string",
        "seq": "xsd:integer",
        "position": "xsd:integer",
        "deleted": "xsd:boolean",
        "vals": "xsd:string",
        "links": "xsd:string",
        "scalars": {"@type": "Set", "@class": SCALAR_CLASS["@id"]},
        "layout": "xsd:integer",
        "created_at": _OPTIONAL_STRING,
        "updated_at": _OPTIONAL_STRING,
    },
    {
        "@type": "Class",
        "@id": EDGE,
        "@key": _KEY,
        "key": "xsd:string",
        "src_class": "xsd:string",
        "src_id": "xsd:string",
        "src_seq": "xsd:integer",
        "predicate": "xsd:string",
        "dst_id": "xsd:string",
        "position": "xsd:integer",
    },
    SCALAR_CLASS,
]


def key_of(v: NodeVersion) -> str:
    return version_key(
        db=v.db,
        branch=v.branch,
        class_id=v.class_id,
        instance_id=v.instance_id,
        seq=v.seq,
    )


def version_documents(v: NodeVersion) -> list[dict[str, Any]]:
    """The version's document and its edges (a tombstone has none)."""
    return [node_document(v), *edge_documents(v)]


def node_document(v: NodeVersion) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@type": NODE,
        "key": key_of(v),
        "db": v.db,
        "branch": v.branch,
        "class_id": v.class_id,
        "instance_id": v.instance_id,
        "seq": v.seq,
        "position": v.position,
        "deleted": v.deleted,
        "vals": canonical_json(dict(v.values)),
        "links": canonical_json(normal_links(v.links)),
        "scalars": scalar_documents(v.values),
        "layout": LAYOUT,
    }
    # Optional properties are absent, not null, in TerminusDB documents.
    if v.created_at is not None:
        document["created_at"] = v.created_at
    if v.updated_at is not None:
        document["updated_at"] = v.updated_at
    return document


def edge_documents(v: NodeVersion) -> list[dict[str, Any]]:
    if v.deleted:
        return []
    version = key_of(v)
    targets = {
        (predicate, target)
        for predicate, value in v.links.items()
        for target in as_list(value)
    }
    return [
        {
            "@type": EDGE,
            "key": edge_key(version, predicate, target),
            "src_class": v.class_id,
            "src_id": v.instance_id,
            "src_seq": v.seq,
            "predicate": predicate,
            "dst_id": target,
            "position": v.position,
        }
        for predicate, target in sorted(targets)
    ]


def version_from_document(document: Mapping[str, Any]) -> NodeVersion:
    try:
        return NodeVersion(
            db=str(document["db"]),
            branch=str(document["branch"]),
            class_id=str(document["class_id"]),
            instance_id=str(document["instance_id"]),
            seq=int(document["seq"]),
            position=int(document["position"]),
            deleted=_boolean(document["deleted"]),
            values=json.loads(document["vals"]),
            links=json.loads(document["links"]),
            created_at=document.get("created_at"),
            updated_at=document.get("updated_at"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise StoreDataError(f"undecodable graph document: {error!r}") from error


def hash_row(v: NodeVersion) -> list[Any]:
    """The fields the content hash covers, in the SQL graph store's order."""
    return [
        v.db,
        v.class_id,
        v.instance_id,
        v.branch,
        v.seq,
        v.position,
        v.deleted,
        dict(v.values),
        normal_links(v.links),
        v.created_at,
        v.updated_at,
    ]


def normal_links(links: Mapping[str, Any]) -> dict[str, Any]:
    """Links as the SQL graph store keeps them: sequences become lists."""
    return {k: list(x) if isinstance(x, list | tuple) else x for k, x in links.items()}


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(x) for x in value] if isinstance(value, list | tuple) else [str(value)]


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"deleted is not a boolean: {value!r}")
