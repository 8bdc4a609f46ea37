"""The WOQL queries of the graph store, built with the official client's
`WOQLQuery` builder.

The builder reads a plain string as a variable ("v:X") or a node ("@schema:Y"),
so no caller value (class or instance id, predicate, key, position, operand)
ever reaches it as a plain string: each enters as a typed literal dict
(`{"@type": "xsd:string", "@value": ...}`, see `string`), which the builder
keeps as data. Variables are `Var`s of names that are constants of this
package, and nodes are the schema's own names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from terminusdb import Var, WOQLQuery

from adapters.errors import StoreDataError
from adapters.graph_store.terminus.documents import EDGE, NODE

Query = dict[str, Any]
Literal = dict[str, Any]
Term: TypeAlias = "Var | Literal"


# --- values ---------------------------------------------------------------------


def var(name: str) -> Var:
    return Var(name)


def string(value: str) -> Literal:
    if not isinstance(value, str):
        raise TypeError(f"expected a string literal, got {type(value).__name__}")
    return {"@type": "xsd:string", "@value": value}


def integer(value: int) -> Literal:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer literal, got {type(value).__name__}")
    return {"@type": "xsd:integer", "@value": value}


def boolean(value: bool) -> Literal:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean literal, got {type(value).__name__}")
    return {"@type": "xsd:boolean", "@value": value}


# --- words ----------------------------------------------------------------------


def field(subject: str, name: str, obj: Term) -> WOQLQuery:
    """`subject` (a variable) has property `name` of the schema with value `obj`."""
    return WOQLQuery().triple(var(subject), f"@schema:{name}", obj)


def is_a(subject: str, class_name: str) -> WOQLQuery:
    return WOQLQuery().triple(var(subject), "rdf:type", f"@schema:{class_name}")


def member(name: str, values: Sequence[Literal]) -> WOQLQuery:
    return WOQLQuery().member(var(name), list(values))


def equal(left: Term, right: Term) -> WOQLQuery:
    return WOQLQuery().eq(left, right)


def less(left: Term, right: Term) -> WOQLQuery:
    return WOQLQuery().less(left, right)


def greater(left: Term, right: Term) -> WOQLQuery:
    return WOQLQuery().greater(left, right)


def substring(whole: str, part: str, *, before: Term, after: Term) -> WOQLQuery:
    """`part` (a variable: the builder takes no literal here) occurs in `whole`
    with `before` characters before it and `after` after it."""
    return WOQLQuery().substr(
        var(whole), var(f"{part}Length"), f"v:{part}", before, after
    )


def read_document(subject: str, output: str) -> WOQLQuery:
    return WOQLQuery().read_document(var(subject), var(output))


def and_(*queries: WOQLQuery) -> WOQLQuery:
    return WOQLQuery().woql_and(*queries)


def or_(*queries: WOQLQuery) -> WOQLQuery:
    return WOQLQuery().woql_or(*queries)


def not_(query: WOQLQuery) -> WOQLQuery:
    return WOQLQuery().woql_not(query)


def always() -> WOQLQuery:
    # TerminusDB v11 rejects WOQL's True: an equation that holds instead.
    return equal(integer(0), integer(0))


def never() -> WOQLQuery:
    return equal(integer(0), integer(1))


def using(collection: str, query: WOQLQuery) -> WOQLQuery:
    """`query` on another branch (`team/database/local/branch/name`)."""
    return WOQLQuery().using(collection, query)


def select(names: Sequence[str], query: WOQLQuery) -> WOQLQuery:
    return WOQLQuery().select(*[var(n) for n in names], query)


def distinct(names: Sequence[str], query: WOQLQuery) -> WOQLQuery:
    return WOQLQuery().distinct(*[var(n) for n in names], query)


def order_by(keys: Sequence[tuple[str, bool]], query: WOQLQuery) -> WOQLQuery:
    """Ordered by each (variable, descending) in turn. The builder only spells
    ascending orders from names, so the templates are given whole."""
    templates = [
        {"@type": "OrderTemplate", "variable": name, "order": "desc" if desc else "asc"}
        for name, desc in keys
    ]
    return WOQLQuery().order_by(*templates).woql_and(query)


def start(count: int, query: WOQLQuery) -> WOQLQuery:
    return WOQLQuery().start(_count(count), query)


def limit(count: int, query: WOQLQuery) -> WOQLQuery:
    return WOQLQuery().limit(_count(count), query)


def count(name: str, query: WOQLQuery) -> WOQLQuery:
    return WOQLQuery().count(var(name), query)


def built(query: WOQLQuery) -> Query:
    """The query's JSON-LD, as the connection sends it."""
    found: Query = query.to_dict()
    return found


def _count(value: int) -> int:
    # Start and Limit take a bare number: never let anything else through.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"expected a count, got {value!r}")
    return value


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
    return built(
        select(
            ["Class", "Id", "Seq", "Deleted"],
            and_(
                *lookup,
                *at_most(bound),
                field("Doc", "seq", var("Seq")),
                field("Doc", "deleted", var("Deleted")),
            ),
        )
    )


def documents_query(keys: Sequence[str]) -> Query:
    """The NodeVersion documents with these keys."""
    return built(
        select(
            ["Json"],
            and_(
                member("Key", [string(k) for k in keys]),
                field("Doc", "key", var("Key")),
                is_a("Doc", NODE),
                read_document("Doc", "Json"),
            ),
        )
    )


def stored_keys_query(keys: Sequence[str]) -> Query:
    """Which of these document keys (versions or edges) are stored."""
    return built(
        select(
            ["Key"],
            and_(
                member("Key", [string(k) for k in keys]),
                field("Doc", "key", var("Key")),
            ),
        )
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
        *at_most(bound),
    ]
    if after_id is not None:
        parts.append(greater(var("Id"), string(after_id)))
    found = distinct(["Id"], and_(*parts))
    return built(select(["Id"], limit(count, order_by([("Id", False)], found))))


def edges_query(
    class_ids: Sequence[str],
    predicate: str,
    targets: Sequence[str],
    bound: int | None,
) -> Query:
    """(Class, Id, Seq, Target) of every edge from the classes to the targets by
    the predicate at or below the bound (current or not: the caller decides)."""
    return built(
        select(
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
                *at_most(bound, subject="Edge"),
            ),
        )
    )


def at_most(
    bound: int | None, *, subject: str = "Doc", position: str = "Position"
) -> list[WOQLQuery]:
    """The subject's position is at most the bound (nothing if there is none)."""
    if bound is None:
        return []
    # Less of integers: TerminusDB v11 has no Lte.
    return [
        field(subject, "position", var(position)),
        less(var(position), integer(bound + 1)),
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
    # xsd:integer may come as a JSON number or, when large, as a string; a
    # Count comes as an xsd:decimal JSON number.
    if isinstance(found, float) and found.is_integer():
        return int(found)
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
