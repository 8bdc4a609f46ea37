"""Access policies as set (setAccessPolicy): how a class's policy reaches its
subclasses, and what a row filter may say. Their enforcement on reads is
access.py.

- A class's effective policy is its own, else its nearest ancestor's
  (`effective_rules`). An object reads the same through every field that can
  return it (a Gadget through `products` as through `gadgets`), so what is
  hidden or masked is decided by the object's own class; a subclass's own
  policy replaces its parent's, it does not narrow it.
- A row filter is a `where` of the class as JSON, in the generated `where`
  input's shape and names: conditions on properties and `id` with the shared
  operators (`{"region": {"in": ["EU"]}}`), combined with `and`/`or`/`not`.
  Relationship conditions and full-text `search` are refused: an object's
  visibility then depends on its own values only, so every read decides it
  from the node it already holds (in memory, or in the same SQL statement),
  with no read per object, and no class's visibility hinges on another's.
- Masks name properties (ontology or GraphQL names), never the primary key:
  it is the object's id, which every read shows anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from graphql import GraphQLError, GraphQLInputObjectType
from graphql.utilities import coerce_input_value, validate_input_value

from domain.ontology import Family, Ontology, formats
from domain.regex import RegexError, parse
from domain.security import AccessRules, ClassAccess
from schema.ontology import shared
from schema.ontology.fieldtypes import filter_type
from schema.ontology.inputs import TEXT_SEARCH
from schema.ontology.names import camel
from schema.ontology.plan import ClassPlan, PropertyField, plan_schema

Typed = dict[str, Any]  # a `where` as resolvers receive it (Python names)
NOTHING: Typed = {"or_": []}  # matches no object
_LOGIC = {"and": "and_", "or": "or_", "not": "not_"}
_TEXT_SEARCH_NAMES = frozenset({"search", "_search", TEXT_SEARCH})


def effective_rules(
    ontology: Ontology, policies: Mapping[str, ClassAccess]
) -> AccessRules:
    """The rules of one role: per class, its own policy, else its nearest
    ancestor's (`policies`: the role's policies by class id; an own policy
    that restricts nothing lifts the ancestor's). Masks given by GraphQL name
    are kept by property name, the name reads compare."""
    by_class: dict[str, ClassAccess] = {}
    for class_id in ontology.classes:
        for owner in (class_id, *ontology.ancestors(class_id)):
            own = policies.get(owner)
            if own is not None:
                access = _by_property_name(ontology, class_id, own)
                if not access.unrestricted:
                    by_class[class_id] = access
                break
    return AccessRules(by_class)


def _by_property_name(
    ontology: Ontology, class_id: str, access: ClassAccess
) -> ClassAccess:
    names = {p.name for p in ontology.effective_properties(class_id)}
    graphql = {camel(n): n for n in names}
    masked = frozenset(m if m in names else graphql.get(m, m) for m in access.masked)
    row_filter = access.row_filter or None  # `{}` holds for every object
    if masked == access.masked and row_filter is access.row_filter:
        return access  # the same row filter object: compiled forms are memoised
    return ClassAccess(row_filter, masked)


def check_policy(
    ontology: Ontology, class_id: str, row_filter: Any, masked: Iterable[str]
) -> list[str]:
    """What is wrong with a policy for `class_id` (empty: nothing): its row
    filter (check_row_filter) and its masked fields."""
    plans = plan_schema(ontology).classes
    found = next((p for p in plans if p.class_id == class_id), None)
    if found is None:
        return [f"unknown class {class_id!r}"]
    problems = typed_filter(row_filter, found)[1] if row_filter is not None else []
    return problems + _mask_problems(found, masked)


def check_row_filter(ontology: Ontology, class_id: str, row_filter: Any) -> list[str]:
    """What is wrong with `row_filter` as a row filter of `class_id`: unknown
    fields or operators, operands of the wrong type, bad regex patterns,
    relationship conditions and `search` (not supported). Empty: valid."""
    return check_policy(ontology, class_id, row_filter, ())


def _mask_problems(plan: ClassPlan, masked: Iterable[str]) -> list[str]:
    problems = []
    for name in masked:
        prop = _property(plan, name)
        if prop is None:
            known = ", ".join(p.name for p in plan.properties) or "none"
            problems.append(
                f"maskFields: {plan.class_id} has no property {name!r} (known: {known})"
            )
        elif prop.is_key:
            problems.append(
                f"maskFields: {name!r} is the primary key of {plan.class_id}; it "
                "is the object's id and cannot be masked"
            )
    return problems


def _property(plan: ClassPlan, name: str) -> PropertyField | None:
    for p in plan.properties:
        if name in (p.name, p.graphql_name, p.python_name):
            return p
    return None


def typed_filter(raw: Any, plan: ClassPlan) -> tuple[Typed, list[str]]:
    """The row filter as resolvers receive a `where` (Python names, operands
    coerced by the generated filter inputs' scalars), and its problems."""
    problems: list[str] = []
    typed = _where(raw, plan, "rowFilter", problems)
    return typed, problems


def _where(raw: Any, plan: ClassPlan, path: str, problems: list[str]) -> Typed:
    if not isinstance(raw, Mapping):
        problems.append(f"{path} must be an object")
        return {}
    typed: Typed = {}
    for name, value in raw.items():
        at = f"{path}.{name}"
        logic = _LOGIC.get(name, name if name in _LOGIC.values() else None)
        if value is None:
            continue  # as in a `where` input: a null condition is no condition
        if logic == "not_":
            typed[logic] = _where(value, plan, at, problems)
        elif logic is not None:
            typed[logic] = _parts(value, plan, at, problems)
        elif name == "id":
            typed["id"] = _condition(value, shared.StringFilter, None, at, problems)
        elif (prop := _property(plan, name)) is not None:
            kind = filter_type(prop.prop)
            typed[prop.python_name] = _condition(value, kind, prop, at, problems)
        else:
            problems.append(_unknown(plan, name, at))
    return typed


def _parts(value: Any, plan: ClassPlan, path: str, problems: list[str]) -> list[Typed]:
    if not isinstance(value, list):
        problems.append(f"{path} must be a list of objects")
        return []
    return [_where(v, plan, f"{path}[{i}]", problems) for i, v in enumerate(value)]


def _unknown(plan: ClassPlan, name: str, path: str) -> str:
    if any(name in (k.name, k.graphql_name, k.python_name) for k in plan.links):
        return (
            f"{path}: relationship conditions are not supported in row filters "
            "(an object's visibility depends on its own values only)"
        )
    if name in _TEXT_SEARCH_NAMES:
        return f"{path}: full-text search is not supported in row filters"
    known = ", ".join(["id", *(p.graphql_name for p in plan.properties)])
    return f"{path}: {plan.class_id} has no property {name!r} (known: {known})"


def _condition(
    value: Any,
    kind: GraphQLInputObjectType,
    prop: PropertyField | None,
    path: str,
    problems: list[str],
) -> Typed:
    """One field's operators, coerced as the generated `where` input coerces
    them (so the operators offered and the operand types are the same)."""
    if not isinstance(value, Mapping):
        problems.append(f'{path} must be an object of operators, such as {{"eq": …}}')
        return {}
    found: list[str] = []

    def failed(error: GraphQLError, at: Any) -> None:
        where = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in at)
        found.append(f"{path}{where}: {error.message}")

    validate_input_value(dict(value), kind, failed)
    typed = {} if found else coerce_input_value(dict(value), kind)
    if not found:
        found = _operand_problems(typed, prop, path)
    problems.extend(found)
    return {} if found else dict(typed)


def _operand_problems(
    typed: Mapping[str, Any], prop: PropertyField | None, path: str
) -> list[str]:
    """What the scalars let through but no value could match: a bad regex,
    an instant without offset, a malformed date or time."""
    problems = []
    if typed.get("regex") is not None:
        try:
            parse(str(typed["regex"]))
        except RegexError as error:
            problems.append(f"{path}.regex: {error}")
    if prop is None or prop.prop.type.family not in _PARSERS:
        return problems
    valid, kind = _PARSERS[prop.prop.type.family], prop.prop.type
    for op, operand in typed.items():
        if op in ("is_null", "regex") or operand is None:
            continue
        for item in operand if isinstance(operand, list) else [operand]:
            if not valid(item):
                problems.append(f"{path}.{op}: {item!r} is not a valid {kind}")
    return problems


def _instant(value: Any) -> bool:
    moment = formats.parse_datetime(value)
    return moment is not None and moment.utcoffset() is not None


def _date(value: Any) -> bool:
    return formats.parse_date(value) is not None


def _time(value: Any) -> bool:
    return formats.parse_time(value) is not None


_PARSERS: dict[Family, Callable[[Any], bool]] = {
    Family.DATETIME: _instant,
    Family.DATE: _date,
    Family.TIME: _time,
}
