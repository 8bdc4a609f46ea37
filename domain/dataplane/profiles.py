"""Profiles of a dataset version: per-column statistics over the whole file (SPEC §6.1).

Plain values, filled by a profiling adapter (adapters/dataplane/profiling.py) and read
by class suggestion and the GraphQL `columns { … }` field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# min/max: int for integers, a canonical decimal string for decimal and money amounts,
# ISO-8601 text for dates, date-times and times, the text itself otherwise.
Scalar = int | str


@dataclass(frozen=True, slots=True)
class ValueCount:
    value: str
    count: int


@dataclass(frozen=True, slots=True)
class Bucket:
    """One histogram bar: `bucket` is a label such as `[10, 20)`; low/high as in min/max."""

    bucket: str
    count: int
    low: Scalar
    high: Scalar


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """One column. Counts cover every row; `nullCount` counts empty or blank cells and
    `distinct_count` distinct non-null values (exact)."""

    name: str
    type: str
    confidence: float
    reason: str
    format: str | None = None
    ambiguous: bool = False
    null_count: int = 0
    distinct_count: int = 0
    min: Scalar | None = None
    max: Scalar | None = None
    samples: tuple[str, ...] = ()
    top_values: tuple[ValueCount, ...] = ()
    histogram: tuple[Bucket, ...] = ()
    # The most frequent distinct values (up to a thousand), for relationship overlap;
    # not part of the public profile.
    value_sample: frozenset[str] = field(default_factory=frozenset, repr=False)

    @property
    def unique(self) -> bool:
        """Every non-null value occurs once."""
        return self.distinct_count > 0 and all(v.count == 1 for v in self.top_values)


@dataclass(frozen=True, slots=True)
class DatasetProfile:
    row_count: int
    columns: tuple[ColumnProfile, ...]

    def column(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns if c.name == name), None)
