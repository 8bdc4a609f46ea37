"""The WOQL queries of the graph store, built as JSON-LD values.

Every value from a caller (class ids, instance ids, predicates, keys, positions)
enters a query only as a typed literal (`{"@type": "xsd:string", "@value": ...}`),
never as text of the query: an id such as "v:X" or "@schema:Y" stays data. Node
and variable names are constants of this module. The shapes are those the
official client's `WOQLQuery` builder produces (a unit test compares them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.errors import StoreDataError
from adapters.graph_store.terminus.documents import EDGE, NODE

Query = dict[str, Any]


# --- values ---------------------------------------------------------------------


def var(name: str) -> dict[str, Any]:
    return {"@type": "Value", "variable": name}


def string(value: str) -> dict[str, Any]:
    if not isinstance(value, str):
        raise TypeError(f"expected a string literal, got {type(value).__name__}")
    return {"@type": "Value", "data": {"@type": "xsd:string", "@value": value}}


def integer(value: int) -> dict[str, Any]:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer literal, got {type(value).__name__}")
    return {"@type": "Value", "data": {"@type": "xsd:integer", "@value": value}}


# --- words ----------------------------------------------------------------------


def field(subject: str, name: str, obj: dict[str, Any]) -> Query:
    """`subject` (a variable) has property `name` of the schema with value `obj`."""
    return _triple(subject, f"@schema:{name}", obj)


def is_a(subject: str, class_name: str) -> Query:
    return _triple(
        subject, "rdf:type", {"@type": "Value", "node": f"@schema:{class_name}"}
    )


def member(name: str, values: Sequence[dict[str, Any]]) -> Query:
    return {"@type": "Member", "member": var(name), "list": list(values)}


def less(left: dict[str, Any], right: dict[str, Any]) -> Query:
    return {"@type": "Less", "left": left, "right": right}


def greater(left: dict[str, Any], right: dict[str, Any]) -> Query:
    return {"@type": "Greater", "left": left, "right": right}


def read_document(subject: str, output: str) -> Query:
    return {
        "@type": "ReadDocument",
        "identifier": {"@type": "NodeValue", "variable": subject},
        "document": var(output),
    }


def and_(*queries: Query) -> Query:
    return {"@type": "And", "and": list(queries)}


def select(names: Sequence[str], query: Query) -> Query:
    return {"@type": "Select", "variables": list(names), "query": query}


def distinct(names: Sequence[str], query: Query) -> Query:
    return {"@type": "Distinct", "variables": list(names), "query": query}


def order_by(names: Sequence[str], query: Query) -> Query:
    ordering = [
        {"@type": "OrderTemplate", "variable": n, "order": "asc"} for n in names
    ]
    return {"@type": "OrderBy", "ordering": ordering, "query": query}


def limit(count: int, query: Query) -> Query:
    return {"@type": "Limit", "limit": count, "query": query}


def _triple(subject: str, predicate: str, obj: dict[str, Any]) -> Query:
    return {
        "@type": "Triple",
        "subject": {"@type": "NodeValue", "variable": subject},
        "predicate": {"@type": "NodeValue", "node": predicate},
        "object": obj,
    }


# --- the store's queries ----------------------------------------------------------


def heads_query(
    class_ids: Sequence[str], instance_ids: Sequence[str] | None, bound: int | None
) -> Query:
    """(Class, Id, Seq, Deleted) of every version of the classes (and ids) at or
    below the position bound."""
    of_classes = [
        member("Class", [string(c) for c in class_ids]),
        field("Doc", "class_id", var("Class")),
        is_a("Doc", NODE),
    ]
    if instance_ids is None:
        lookup = [*of_classes, field("Doc", "instance_id", var("Id"))]
    else:  # start from the ids, the most selective lookup
        ids = member("Id", [string(i) for i in instance_ids])
        lookup = [ids, field("Doc", "instance_id", var("Id")), *of_classes]
    return select(
        ["Class", "Id", "Seq", "Deleted"],
        and_(
            *lookup,
            *_at_most(bound),
            field("Doc", "seq", var("Seq")),
            field("Doc", "deleted", var("Deleted")),
        ),
    )


def documents_query(keys: Sequence[str]) -> Query:
    """The NodeVersion documents with these keys."""
    return select(
        ["Json"],
        and_(
            member("Key", [string(k) for k in keys]),
            field("Doc", "key", var("Key")),
            is_a("Doc", NODE),
            read_document("Doc", "Json"),
        ),
    )


def stored_keys_query(keys: Sequence[str]) -> Query:
    """Which of these document keys (versions or edges) are stored."""
    return select(
        ["Key"],
        and_(member("Key", [string(k) for k in keys]), field("Doc", "key", var("Key"))),
    )


def ids_page_query(
    class_ids: Sequence[str], *, after_id: str | None, bound: int | None, count: int
) -> Query:
    """The first `count` instance ids (in order) after `after_id` with a version
    of the classes at or below the bound."""
    parts = [
        member("Class", [string(c) for c in class_ids]),
        field("Doc", "class_id", var("Class")),
        is_a("Doc", NODE),
        field("Doc", "instance_id", var("Id")),
        *_at_most(bound),
    ]
    if after_id is not None:
        parts.append(greater(var("Id"), string(after_id)))
    found = distinct(["Id"], and_(*parts))
    return select(["Id"], limit(count, order_by(["Id"], found)))


def edges_query(
    class_ids: Sequence[str],
    predicate: str,
    targets: Sequence[str],
    bound: int | None,
) -> Query:
    """(Class, Id, Seq, Target) of every edge from the classes to the targets by
    the predicate at or below the bound (current or not: the caller decides)."""
    return select(
        ["Class", "Id", "Seq", "Target"],
        and_(
            member("Target", [string(t) for t in targets]),
            field("Edge", "dst_id", var("Target")),
            is_a("Edge", EDGE),
            field("Edge", "predicate", string(predicate)),
            member("Class", [string(c) for c in class_ids]),
            field("Edge", "src_class", var("Class")),
            field("Edge", "src_id", var("Id")),
            field("Edge", "src_seq", var("Seq")),
            *_at_most(bound, subject="Edge"),
        ),
    )


def _at_most(bound: int | None, *, subject: str = "Doc") -> list[Query]:
    if bound is None:
        return []
    # Less of integers, not Lte: Less is in every TerminusDB release.
    return [
        field(subject, "position", var("Position")),
        less(var("Position"), integer(bound + 1)),
    ]


# --- results ----------------------------------------------------------------------


def value(binding: Mapping[str, Any], name: str) -> Any:
    """A variable's value in one result row: literals come as {"@value": ...}."""
    try:
        found = binding[name]
    except KeyError as error:
        raise StoreDataError(f"query result lacks {name}: {binding!r}") from error
    if isinstance(found, Mapping) and "@value" in found:
        return found["@value"]
    return found


def text(binding: Mapping[str, Any], name: str) -> str:
    found = value(binding, name)
    if not isinstance(found, str):
        raise StoreDataError(f"{name} is not a string: {found!r}")
    return found


def number(binding: Mapping[str, Any], name: str) -> int:
    found = value(binding, name)
    # xsd:integer may come as a JSON number or, when large, as a string.
    if isinstance(found, bool) or not isinstance(found, int | str):
        raise StoreDataError(f"{name} is not an integer: {found!r}")
    try:
        return int(found)
    except ValueError as error:
        raise StoreDataError(f"{name} is not an integer: {found!r}") from error


def flag(binding: Mapping[str, Any], name: str) -> bool:
    found = value(binding, name)
    if not isinstance(found, bool):
        raise StoreDataError(f"{name} is not a boolean: {found!r}")
    return found
