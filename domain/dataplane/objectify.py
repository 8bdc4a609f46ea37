"""Objectify planning: dataset rows → checked instance writes, with row-level reports.

Pure: the caller supplies the rows, a lookup of relationship targets already in the
database and the current state of the instances the rows name. Each row is turned into
instance data and checked by `validate_instance`, the very function a mutation runs, so
a value objectify accepts is one a mutation accepts. Then the gates that need the whole
run (SPEC §6.1 "Precise meanings"): the primary key present and unique within the run,
unique properties unique within the run, and every relationship target existing in
the database or created by the same run.

Rows are numbered from 1, the header not counted. Every rejected row has at least one
entry in `errors`; the list is capped, `rejected` counts every rejected row.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from domain.dataplane.mapping import MappingSpec, render_template
from domain.errors import FieldError
from domain.instances import validate_instance
from domain.ontology import Ontology, PropertyDef, RelationshipDef
from domain.ontology.ptypes import Family, PropertyType

QUEUED: Final = "QUEUED"
RUNNING: Final = "RUNNING"
SUCCEEDED: Final = "SUCCEEDED"
PARTIAL: Final = "PARTIAL"
FAILED: Final = "FAILED"
MAX_ERRORS: Final = 1000

Row = Mapping[str, str | None]
# exists(class_id, ids) -> the ids that are live instances of class_id or a subclass.
Exists = Callable[[str, set[str]], set[str]]
_INTEGER_TEXT = re.compile(r"[+-]?\d{1,30}")
_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})
_JSON_FAMILIES = frozenset({Family.JSON, Family.MONEY, Family.GEOPOINT, Family.VECTOR})


@dataclass(frozen=True, slots=True)
class RowError:
    """`ObjectifyRun.errors` entry: `row` is 1-based over data rows (0: the run)."""

    row: int
    column: str | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Item:
    """One valid row as an instance: `data` is a create's input (defaults applied);
    `values`/`links` are normalised, as an instance event stores them."""

    row: int
    instance_id: str
    data: dict[str, Any]
    values: dict[str, Any]
    links: dict[str, list[str]]


@dataclass(slots=True)
class Conversion:
    """Rows after the per-row checks and in-run uniqueness; references still open.

    Per item it keeps only its id and row (a run of millions of rows holds
    these, not the rows); `items` holds the items themselves only for callers
    that plan in memory (`convert_rows`)."""

    spec: MappingSpec
    rows: int = 0
    items: list[Item] = field(default_factory=list)
    item_ids: list[str] = field(default_factory=list)
    item_rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # the first MAX_ERRORS
    rejected_rows: set[int] = field(default_factory=set)
    # Every instance id a row names, rejected rows' too: a row that is present
    # but invalid does not make its instance missing from the dataset.
    keys: set[str] = field(default_factory=set)
    # (item index, predicate, target class, target id) of each reference to check.
    references: list[tuple[int, str, str, str]] = field(default_factory=list)

    def wanted(self) -> dict[str, set[str]]:
        """Target ids per target class, for the caller's database lookup."""
        wanted: dict[str, set[str]] = {}
        for _, _, target_class, target_id in self.references:
            wanted.setdefault(target_class, set()).add(target_id)
        return wanted


@dataclass(frozen=True, slots=True)
class Plan:
    status: str
    rows: int
    items: list[Item]  # what may be written: empty when FAILED
    errors: list[RowError]  # capped at max_errors
    rejected: int


@dataclass(frozen=True, slots=True)
class Changes:
    """Items against current state: new ones, patches of changed members only."""

    created: list[Item]
    updated: list[tuple[Item, dict[str, Any]]]  # (item, upsert input: key + changes)
    unchanged_rows: list[int]
    errors: list[RowError]

    @property
    def unchanged(self) -> int:
        return len(self.unchanged_rows)

    def without_rows(self, rows: set[int]) -> Changes:
        """These changes minus those of `rows` (dropped by a run-wide gate)."""
        if not rows:
            return self
        return Changes(
            [i for i in self.created if i.row not in rows],
            [(i, patch) for i, patch in self.updated if i.row not in rows],
            [row for row in self.unchanged_rows if row not in rows],
            [e for e in self.errors if e.row not in rows],
        )


def plan_objectify(
    ontology: Ontology,
    spec: MappingSpec,
    rows: Iterable[Row],
    *,
    exists: Exists,
    allow_partial: bool = False,
    max_errors: int = MAX_ERRORS,
) -> Plan:
    """`convert_rows` then `finish`, for callers whose lookup is synchronous."""
    conversion = convert_rows(ontology, spec, rows)
    return finish(
        ontology,
        conversion,
        exists=exists,
        allow_partial=allow_partial,
        max_errors=max_errors,
    )


def convert_rows(
    ontology: Ontology, spec: MappingSpec, rows: Iterable[Row]
) -> Conversion:
    """Per-row checks, then first-wins on primary keys and unique values."""
    feed = RowFeed(ontology, spec)
    feed.conversion.items = feed.feed(rows)
    return feed.conversion


class RowFeed:
    """`convert_rows` in pieces, for rows read in batches: `feed` returns each
    batch's items and the conversion keeps only what the run-wide gates need."""

    def __init__(self, ontology: Ontology, spec: MappingSpec) -> None:
        self.converter = _Converter(ontology, spec)
        self.conversion = Conversion(spec)
        self._claims = _Claims(self.converter.unique)

    def feed(self, rows: Iterable[Row]) -> list[Item]:
        converter, conversion = self.converter, self.conversion
        items: list[Item] = []
        for number, raw in enumerate(rows, start=conversion.rows + 1):
            conversion.rows = number
            item, errors, key = converter.convert(number, raw)
            if key is not None:
                conversion.keys.add(key)
            if item is not None:
                errors = self._claims.claim(item, converter.column_of)
            if item is None or errors:
                _add_errors(conversion, errors)
                conversion.rejected_rows.add(number)
                continue
            index = len(conversion.item_ids)
            conversion.item_ids.append(item.instance_id)
            conversion.item_rows.append(number)
            conversion.references += [
                (index, predicate, converter.relationships[predicate].target, target)
                for predicate, targets in item.links.items()
                if converter.checks_target(predicate)
                for target in targets
            ]
            items.append(item)
        return items


def _add_errors(conversion: Conversion, errors: list[RowError]) -> None:
    """Rows come in order, so the first MAX_ERRORS are the ones reported."""
    room = MAX_ERRORS - len(conversion.errors)
    if room > 0:
        conversion.errors += errors[:room]


@dataclass(frozen=True, slots=True)
class Gate:
    """The run-wide verdict: status, the errors to report (capped), how many
    rows are rejected, and the rows dropped by the reference gate."""

    status: str
    errors: list[RowError]
    rejected: int
    dropped_rows: set[int]


def gate(
    ontology: Ontology,
    conversion: Conversion,
    *,
    exists: Exists,
    allow_partial: bool = False,
    max_errors: int = MAX_ERRORS,
) -> Gate:
    """The reference gate, then the run's status: any rejected row fails the run
    unless `allow_partial`, in which case the valid rows are written."""
    found = {k: exists(k, ids) for k, ids in conversion.wanted().items()}
    errors = _reference_gate(ontology, conversion, found)
    dropped = {e.row for e in errors}
    rejected = conversion.rejected_rows | dropped
    all_errors = sorted(conversion.errors + errors, key=lambda e: e.row)
    status = SUCCEEDED if not rejected else PARTIAL if allow_partial else FAILED
    return Gate(status, all_errors[:max_errors], len(rejected), dropped)


def finish(
    ontology: Ontology,
    conversion: Conversion,
    *,
    exists: Exists,
    allow_partial: bool = False,
    max_errors: int = MAX_ERRORS,
) -> Plan:
    """`gate` for a conversion that holds its items: the plan of what to write."""
    verdict = gate(
        ontology,
        conversion,
        exists=exists,
        allow_partial=allow_partial,
        max_errors=max_errors,
    )
    items = [i for i in conversion.items if i.row not in verdict.dropped_rows]
    return Plan(
        status=verdict.status,
        rows=conversion.rows,
        items=[] if verdict.status == FAILED else items,
        errors=verdict.errors,
        rejected=verdict.rejected,
    )


def diff_items(
    ontology: Ontology,
    spec: MappingSpec,
    items: Sequence[Item],
    current: Mapping[str, Mapping[str, Any]],
) -> Changes:
    """Classify items against `current` (instance id → the last event's data of each
    live instance: `class_id`, `values`, `links`), comparing only the members the
    mapping feeds, so re-running a dataset version changes nothing and a changed
    row patches only its changed members."""
    converter = _Converter(ontology, spec)
    key = converter.key
    created: list[Item] = []
    updated: list[tuple[Item, dict[str, Any]]] = []
    errors: list[RowError] = []
    unchanged: list[int] = []
    for item in items:
        state = current.get(item.instance_id)
        if state is None:
            created.append(item)
            continue
        if state.get("class_id") != spec.class_id:
            message = f"{item.instance_id!r} exists as a {state.get('class_id')}"
            errors.append(
                RowError(item.row, converter.column_of(key), "class_mismatch", message)
            )
            continue
        patch = converter.patch(item, state)
        if patch:
            updated.append((item, {key: item.values[key], **patch}))
        else:
            unchanged.append(item.row)
    return Changes(created, updated, unchanged, errors)


def cell(raw: object) -> str | None:
    """A cell is null when it is empty or only whitespace (SPEC §6.1)."""
    if raw is None:
        return None
    text = str(raw)
    return text if text.strip() else None


def coerce(ptype: PropertyType, text: str, tz: zoneinfo.ZoneInfo) -> object:
    """Text from a file as the JSON value `validate_value` expects. What does not
    parse is passed on unchanged, so the type check reports it as a mutation would."""
    family = ptype.family
    if family is Family.ARRAY or family in _JSON_FAMILIES:
        return _json_or_text(text)
    if family is Family.BOOLEAN:
        lowered = text.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    if family is Family.FLOAT:
        try:
            return float(text)
        except ValueError:
            return text
    if family is Family.INTEGER:
        stripped = text.strip()
        return int(stripped) if _INTEGER_TEXT.fullmatch(stripped) else text
    if family is Family.DECIMAL:
        return text.strip()
    if family is Family.DATETIME:
        return _with_zone(text.strip(), tz)
    return text


def _json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _with_zone(text: str, tz: zoneinfo.ZoneInfo) -> str:
    """A naive date-time is read in the mapping's time zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        return text
    return moment.replace(tzinfo=tz).isoformat()


class _Converter:
    """What one mapping needs of the ontology, looked up once per run."""

    def __init__(self, ontology: Ontology, spec: MappingSpec) -> None:
        self.ontology = ontology
        self.spec = spec
        self.key = ontology.primary_key_of(spec.class_id) or ""
        self.props: dict[str, PropertyDef] = {
            p.name: p for p in ontology.effective_properties(spec.class_id)
        }
        self.relationships: dict[str, RelationshipDef] = {
            r.predicate: r for r in ontology.effective_relationships(spec.class_id)
        }
        self.columns: dict[str, str] = {p.property: p.column for p in spec.properties}
        self.columns.update({t.property: t.template for t in spec.computed})
        self.columns.update({r.predicate: r.column for r in spec.relationships})
        self.unique = [
            p for p in self.columns if p in self.props and self.props[p].unique
        ]
        self.tz = _zone(spec.timezone)

    def column_of(self, member: str) -> str | None:
        return self.columns.get(member)

    def checks_target(self, predicate: str) -> bool:
        return self.relationships[predicate].dangling_policy.value == "reject"

    def convert(
        self, number: int, raw: Row
    ) -> tuple[Item | None, list[RowError], str | None]:
        """The row as an item, or its errors; and the instance id it names."""
        data = self._data(raw)
        check = validate_instance(
            self.ontology, self.spec.class_id, data, partial=False
        )
        key = check.instance_id
        if check.errors:
            return None, [self._row_error(number, e) for e in check.errors], key
        if key is None:  # no key at all: reported above as required
            missing = RowError(
                number,
                self.column_of(self.key),
                "missing_primary_key",
                "no primary key",
            )
            return None, [missing], None
        return Item(number, key, data, check.values, check.links), [], key

    def _data(self, raw: Row) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for item in self.spec.properties:
            text = cell(raw.get(item.column))
            prop = self.props.get(item.property)
            data[item.property] = (
                None
                if text is None or prop is None
                else coerce(prop.type, text, self.tz)
            )
        for computed in self.spec.computed:
            text = render_template(
                computed.template, {k: cell(v) for k, v in raw.items()}
            )
            prop = self.props.get(computed.property)
            data[computed.property] = (
                None
                if text is None or prop is None
                else coerce(prop.type, text, self.tz)
            )
        for link in self.spec.relationships:
            data[link.predicate] = self._link(
                link.predicate, cell(raw.get(link.column))
            )
        return data

    def _link(self, predicate: str, text: str | None) -> object:
        rel = self.relationships.get(predicate)
        if text is None or rel is None:
            return None
        if rel.cardinality.to_many:
            return [part.strip() for part in text.split(",") if part.strip()]
        return text.strip()

    def _row_error(self, number: int, error: FieldError) -> RowError:
        member = error.path[0] if error.path else ""
        code = error.code
        if member == self.key and code == "required":
            code = "missing_primary_key"
        return RowError(number, self.column_of(member), code, error.message)

    def patch(self, item: Item, state: Mapping[str, Any]) -> dict[str, Any]:
        values: Mapping[str, Any] = state.get("values") or {}
        links: Mapping[str, Any] = state.get("links") or {}
        patch: dict[str, Any] = {}
        for member in self.columns:
            if member in self.relationships:
                new = item.links.get(member) or []
                if new != list(links.get(member) or []):
                    many = self.relationships[member].cardinality.to_many
                    patch[member] = new if many else (new[0] if new else None)
            elif item.values.get(member) != values.get(member):
                patch[member] = item.values.get(member)
        return patch


class _Claims:
    """First-wins on primary keys and unique values among the run's valid rows."""

    def __init__(self, unique: Sequence[str]) -> None:
        self.ids: dict[str, int] = {}
        self.values: dict[str, dict[str, int]] = {name: {} for name in unique}

    def claim(
        self, item: Item, column_of: Callable[[str], str | None]
    ) -> list[RowError]:
        first = self.ids.get(item.instance_id)
        if first is not None:
            message = f"primary key {item.instance_id!r} already in row {first}"
            return [RowError(item.row, None, "duplicate_primary_key", message)]
        errors: list[RowError] = []
        keys: dict[str, str] = {}
        for name, seen in self.values.items():
            value = item.values.get(name)
            if value is None:
                continue
            keys[name] = json.dumps(value, sort_keys=True)
            if keys[name] in seen:
                message = f"{name} {value!r} already in row {seen[keys[name]]}"
                errors.append(
                    RowError(item.row, column_of(name), "duplicate_unique", message)
                )
        if not errors:
            self.ids[item.instance_id] = item.row
            for name, text in keys.items():
                self.values[name][text] = item.row
        return errors


def _reference_gate(
    ontology: Ontology, conversion: Conversion, found: Mapping[str, set[str]]
) -> list[RowError]:
    """Drops items whose targets exist neither in the database nor among the run's
    kept items; repeated, as a dropped item may have been another's target."""
    ids, rows = conversion.item_ids, conversion.item_rows
    dropped: dict[int, RowError] = {}
    class_id = conversion.spec.class_id
    in_run_targets = {
        target: class_id in ontology.subclasses(target)
        for _, _, target, _ in conversion.references
    }
    while True:
        kept_ids = {item_id for i, item_id in enumerate(ids) if i not in dropped}
        before = len(dropped)
        for index, predicate, target_class, target_id in conversion.references:
            if index in dropped or target_id in found.get(target_class, ()):
                continue
            in_run = in_run_targets[target_class] and target_id in kept_ids
            if not in_run:
                column = _column(conversion.spec, predicate)
                message = f"{target_class} {target_id!r} does not exist"
                dropped[index] = RowError(
                    rows[index], column, "dangling_reference", message
                )
        if len(dropped) == before:
            break
    return list(dropped.values())


def _column(spec: MappingSpec, predicate: str) -> str | None:
    return next(
        (r.column for r in spec.relationships if r.predicate == predicate), None
    )


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def self_referencing(ontology: Ontology, spec: MappingSpec) -> list[str]:
    """Mapped predicates whose targets may be created by the same run (checked:
    a target must exist when the command naming it is handled)."""
    relationships = {
        r.predicate: r for r in ontology.effective_relationships(spec.class_id)
    }
    return [
        m.predicate
        for m in spec.relationships
        if (rel := relationships.get(m.predicate)) is not None
        and rel.dangling_policy.value == "reject"
        and spec.class_id in ontology.subclasses(rel.target)
    ]


def targets_first(items: Sequence[Item], predicates: Sequence[str]) -> list[Item]:
    """Items ordered so that an item's in-run targets come before it (depth first,
    iterative; a cycle keeps the order it was met in)."""
    by_id = {item.instance_id: item for item in items}
    placed: set[str] = set()
    ordered: list[Item] = []
    for item in items:
        stack = [(item, False)]
        while stack:
            current, expanded = stack.pop()
            if current.instance_id in placed:
                continue
            if expanded:
                placed.add(current.instance_id)
                ordered.append(current)
                continue
            stack.append((current, True))
            for predicate in predicates:
                for target in current.links.get(predicate, ()):
                    found = by_id.get(target)
                    if found is not None and target not in placed:
                        stack.append((found, False))
    return ordered
