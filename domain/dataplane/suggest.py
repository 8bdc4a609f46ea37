"""A suggested ontology class for a profiled dataset: a ClassInput plus relationship
candidates and warnings (SPEC §6.1 `suggestClass`).

Naming (the ontology wants `[A-Za-z_][A-Za-z0-9_]*`, at most 100, not `id`/`_meta`):
- Property names are snake_case ASCII. Latin letters lose their accents (`Prénom` →
  `prenom`); Hangul is romanised syllable by syllable with the Revised Romanization
  letters, without sound-change rules (`이메일` → `imeil`, `가격` → `gagyeok`); any
  other character becomes `_`, and a name left empty becomes `column_<n>`
  (1-based position). The original column name is kept as the property's label.
- A leading digit gets a `c_` prefix; `id` becomes `<class>_id` (e.g. `order_id`);
  duplicates get `_2`, `_3`, ….
- The class id is the dataset name in PascalCase, singular by a plain English rule
  (`order_items` → `OrderItem`, `clients` → `Client`), `Dataset<n>` if nothing ASCII
  is left.

Keys: the primary key is a non-null column whose every value is distinct, of a key
type (string, integer, uuid), preferring `id`, then `<class>_id`, then any `*_id`,
then the first such column. Without one, a `row_key` string property is added as the
key, with a warning: the mapping must compute it (e.g. a template of several columns).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.dataplane.profiles import ColumnProfile, DatasetProfile

KEY_TYPES = frozenset({"string", "integer", "uuid"})
MAX_NAME = 100
RELATIONSHIP_THRESHOLD = 0.5
TITLE_WORDS = ("name", "title", "label", "display_name", "full_name", "ireum")


@dataclass(frozen=True, slots=True)
class RelationshipCandidate:
    """`column` probably holds the primary key of `target` (a class id)."""

    column: str
    target: str
    confidence: float
    target_column: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ClassSuggestion:
    input: dict[str, Any]  # a ClassInput, in the GraphQL (camelCase) spelling
    relationships: tuple[RelationshipCandidate, ...]
    warnings: tuple[str, ...]
    # column name -> property name, for the mapping that objectifies the dataset
    columns: Mapping[str, str]


# -- names -------------------------------------------------------------------------

_INITIALS = [
    "g",
    "kk",
    "n",
    "d",
    "tt",
    "r",
    "m",
    "b",
    "pp",
    "s",
    "ss",
    "_",
    "j",
    "jj",
    "ch",
    "k",
    "t",
    "p",
    "h",
]
_MEDIALS = [
    "a",
    "ae",
    "ya",
    "yae",
    "eo",
    "e",
    "yeo",
    "ye",
    "o",
    "wa",
    "wae",
    "oe",
    "yo",
    "u",
    "wo",
    "we",
    "wi",
    "yu",
    "eu",
    "ui",
    "i",
]
_FINALS = [
    "",
    "k",
    "k",
    "k",
    "n",
    "n",
    "n",
    "t",
    "l",
    "k",
    "m",
    "l",
    "l",
    "l",
    "p",
    "l",
    "m",
    "p",
    "p",
    "t",
    "t",
    "ng",
    "t",
    "t",
    "k",
    "t",
    "p",
    "t",
]


def romanise(text: str) -> str:
    """Hangul syllables in Revised Romanization letters (no sound-change rules)."""
    out: list[str] = []
    for char in text:
        code = ord(char) - 0xAC00
        if 0 <= code < 11172:
            initial, rest = divmod(code, 588)
            medial, final = divmod(rest, 28)
            lead = _INITIALS[initial].replace("_", "")
            out.append(lead + _MEDIALS[medial] + _FINALS[final])
        else:
            out.append(char)
    return "".join(out)


def _ascii_words(text: str) -> str:
    text = romanise(text)
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def singular(word: str) -> str:
    for plural, single in (("ies", "y"), ("ses", "s"), ("xes", "x"), ("s", "")):
        if word.endswith(plural) and not word.endswith("ss") and len(word) > 3:
            return word[: -len(plural)] + single
    return word


def class_id_for(dataset: str) -> str:
    """`order_items` → `OrderItem`; the ontology's class id rule holds."""
    words = _ascii_words(dataset).split("_")
    if words and words[-1]:
        words[-1] = singular(words[-1])
    name = "".join(w.capitalize() for w in words if w)
    if not name or not name[0].isalpha():
        name = "Dataset" + name
    return name[:MAX_NAME]


def property_names(columns: Sequence[str], class_id: str) -> dict[str, str]:
    """Column -> a valid, unique property name (see the module docstring)."""
    class_word = _ascii_words(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_id))
    result: dict[str, str] = {}
    taken: set[str] = set()
    for position, column in enumerate(columns, start=1):
        name = _ascii_words(column) or f"column_{position}"
        if name[0].isdigit():
            name = f"c_{name}"
        if name in ("id", "meta"):
            name = f"{class_word or 'record'}_{name}"
        name = name[:MAX_NAME]
        unique, n = name, 2
        while unique in taken:
            suffix = f"_{n}"
            unique, n = name[: MAX_NAME - len(suffix)] + suffix, n + 1
        taken.add(unique)
        result[column] = unique
    return result


# -- the class ---------------------------------------------------------------------


def suggest_class(
    dataset: str,
    profile: DatasetProfile,
    *,
    class_id: str | None = None,
    other_keys: Mapping[str, Mapping[str, Collection[str]]] | None = None,
) -> ClassSuggestion:
    """A ClassInput for `dataset`, with relationship candidates to other datasets'
    key columns ({dataset: {column: values}}) and warnings a person should read."""
    cid = class_id or class_id_for(dataset)
    names = property_names([c.name for c in profile.columns], cid)
    warnings: list[str] = []
    properties = [
        _property(c, names[c.name], profile, warnings) for c in profile.columns
    ]
    key = _primary_key(profile, names, cid)
    if key is None:
        key = next(
            k for k in ("row_key", *(f"row_key_{n}" for n in range(2, 1000)))
            if k not in names.values()
        )  # fmt: skip
        properties.append({"name": key, "type": "string", "required": True})
        warnings.append(
            f"no column is non-null and unique: `{key}` is the primary key, and the "
            "mapping must compute it (e.g. a template over several columns)"
        )
    title = _title_key(profile, names, key)
    class_input: dict[str, Any] = {
        "id": cid,
        "label": dataset,
        "primaryKey": key,
        "properties": properties,
    }
    if title is not None:
        class_input["titleKey"] = title
    relationships = relationship_candidates(dataset, profile, other_keys or {})
    warnings += [
        f"column {c.name!r} holds two readings ({c.format} chosen): check before objectify"
        for c in profile.columns
        if c.ambiguous
    ]
    warnings += [
        f"column {c.name!r} is {c.type} with confidence {c.confidence:.2f}: {c.reason}"
        for c in profile.columns
        if c.confidence < 0.95
    ]
    return ClassSuggestion(class_input, tuple(relationships), tuple(warnings), names)


def _property(
    column: ColumnProfile, name: str, profile: DatasetProfile, warnings: list[str]
) -> dict[str, Any]:
    prop: dict[str, Any] = {"name": name, "type": column.type}
    if name != column.name:
        prop["label"] = column.name
    if profile.row_count > 0 and column.null_count == 0:
        prop["required"] = True
    if column.type == "enum":
        values = [v.value for v in column.top_values if v.value]
        if len(values) < column.distinct_count or not values:
            warnings.append(
                f"column {column.name!r}: enum values incomplete; typed as string"
            )
            prop["type"] = "string"
        else:
            prop["constraints"] = {"values": values}
    return prop


def _key_candidates(profile: DatasetProfile) -> list[ColumnProfile]:
    return [
        c
        for c in profile.columns
        if c.type in KEY_TYPES
        and c.null_count == 0
        and profile.row_count > 0
        and c.distinct_count == profile.row_count
    ]


def _primary_key(
    profile: DatasetProfile, names: Mapping[str, str], class_id: str
) -> str | None:
    candidates = _key_candidates(profile)
    if not candidates:
        return None
    own = f"{_ascii_words(re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', class_id))}_id"

    def rank(column: ColumnProfile) -> int:
        word = _ascii_words(column.name)
        if word == "id":
            return 0
        if word == own:
            return 1
        return 2 if word.endswith("_id") or word.endswith("_key") else 3

    return names[min(candidates, key=rank).name]


def _title_key(
    profile: DatasetProfile, names: Mapping[str, str], key: str
) -> str | None:
    texts = [c for c in profile.columns if c.type == "string" and names[c.name] != key]
    for word in TITLE_WORDS:
        for column in texts:
            if names[column.name] == word or names[column.name].endswith(f"_{word}"):
                return names[column.name]
    return names[texts[0].name] if texts else None


# -- relationships -----------------------------------------------------------------


def relationship_candidates(
    dataset: str,
    profile: DatasetProfile,
    other_keys: Mapping[str, Mapping[str, Collection[str]]],
) -> list[RelationshipCandidate]:
    """Columns that look like references to another dataset's key column.

    Confidence = 0.4 * name evidence + 0.6 * value overlap, where name evidence is 1
    for the same column name (`client_id` ↔ `client_id`), 0.8 for `<target>_id`,
    0.6 when the column name contains the target's singular name, and overlap is the
    share of this column's sampled values found among the target's keys. Pass the
    target's whole key set where possible: a sample of it understates overlap.
    Candidates below 0.5 are dropped; the best target per column comes first.
    """
    found: list[RelationshipCandidate] = []
    for column in profile.columns:
        word = _ascii_words(column.name)
        best: RelationshipCandidate | None = None
        for other, keys in other_keys.items():
            if other == dataset:
                continue
            for key_column, values in keys.items():
                candidate = _candidate(column, word, other, key_column, values)
                if candidate and (
                    best is None or candidate.confidence > best.confidence
                ):
                    best = candidate
        if best is not None:
            found.append(best)
    return sorted(found, key=lambda c: -c.confidence)


def _candidate(
    column: ColumnProfile,
    word: str,
    other: str,
    key_column: str,
    keys: Collection[str],
) -> RelationshipCandidate | None:
    target_word = singular(_ascii_words(other))
    if word == _ascii_words(key_column) and word != "id":
        name_score = 1.0
    elif word == f"{target_word}_id":
        name_score = 0.8
    elif target_word and target_word in word:
        name_score = 0.6
    else:
        name_score = 0.0
    sample = column.value_sample
    key_set = keys if isinstance(keys, set | frozenset) else set(keys)
    overlap = len(sample & key_set) / len(sample) if sample else 0.0
    confidence = round(0.4 * name_score + 0.6 * overlap, 4)
    if confidence < RELATIONSHIP_THRESHOLD:
        return None
    reason = f"name evidence {name_score:.1f}, {overlap:.0%} of sampled values are {other}.{key_column} keys"
    return RelationshipCandidate(
        column.name, class_id_for(other), confidence, key_column, reason
    )
