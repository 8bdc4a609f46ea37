"""Column type inference: which ontology type a column of text cells holds (SPEC §6).

Rules (each value is a text cell; a cell is null when empty or only whitespace):
- Every detector says whether one value fits its type (and in which format). The
  column's type is the one most non-null cells fit (weighted by how often each value
  occurs); its confidence is that share, and the reason names counter-examples.
  When no type fits more than half the cells, the column is text (enum or string).
- Ties (every integer is also a decimal; `0`/`1` are integers and booleans; ISO dates
  also look like phone numbers) go to a column-name hint that agrees, then to the more
  specific type in `PRIORITY`. So a column of only `0`/`1` is an **integer** unless
  its name hints boolean (`is_*`, `has_*`, `*_flag`, `여부`): counts and codes
  are far more common in exports than 0/1 flags without a telling name. A tie not
  settled by a hint costs 10% confidence, and the reason says so.
- Hints never override evidence: they break ties, relax the enum rule, and close a
  quarter of the gap to 1 when they agree with the winning type.
- Numbers with leading zeros (`007`, zip codes) are identifiers, not integers.
- Enum: a text column is an enum when it has at least `ENUM_MIN_ROWS` non-null cells,
  at most `ENUM_MAX_VALUES` distinct values, each value repeating on average at least
  `1 / ENUM_MAX_RATIO` times, and no value longer than 64 characters. A name hint
  (`status`, `type`, `category`, `상태`, …) lowers the minimum to 4 rows and the
  repetition to 2.
- Dates: `MM/DD/YYYY` and `DD/MM/YYYY` both read `01/02/2024`; when every value reads
  both ways the column is flagged `ambiguous` and `MM/DD/YYYY` is chosen.
- Decimal notations: `1,234.56` (point) and `1.234,56` (comma); accounting negatives
  `(12.50)`. A column where both notations read every value picks the point and is
  flagged ambiguous if some value (`1.234`) reads differently.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from domain.ontology import formats as fmt

ENUM_MIN_ROWS = 10
ENUM_MAX_VALUES = 50
ENUM_MAX_RATIO = 0.2
ENUM_MAX_LENGTH = 64
TIE_PENALTY = 0.9
COUNTER_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class ColumnType:
    """The inferred type of a column: an ontology type name and how sure we are."""

    type: str
    confidence: float
    reason: str
    format: str | None = None
    ambiguous: bool = False


def is_null(cell: str | None) -> bool:
    return cell is None or not cell.strip()


# -- numbers -----------------------------------------------------------------------

POINT, COMMA = "1,234.56", "1.234,56"
PLAIN_INTEGER, GROUPED_INTEGER = "1234", "1,234"
_INTEGER = re.compile(r"[+-]?(?:0|[1-9]\d*)")
_GROUPED = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+")
_NUMBER = {
    POINT: re.compile(
        r"[+-]?(?:(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d{1,4})?"
    ),
    COMMA: re.compile(r"[+-]?(?:(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)(?:,\d+)?|,\d+)"),
}
_ACCOUNTING = re.compile(r"\((.+)\)")


def parse_integer(text: str) -> int | None:
    """An integer from `123`, `-5` or `1,234`; None for leading zeros or out of int64."""
    text = text.strip()
    if _INTEGER.fullmatch(text) or _GROUPED.fullmatch(text):
        number = int(text.replace(",", ""))
        return number if fmt.INT64_MIN <= number <= fmt.INT64_MAX else None
    return None


def parse_decimal(text: str, notation: str = POINT) -> Decimal | None:
    """A Decimal from text in `notation` (POINT or COMMA), accepting `(12.50)` as -12.50."""
    text = text.strip()
    sign = ""
    accounting = _ACCOUNTING.fullmatch(text)
    if accounting:
        text, sign = accounting.group(1).strip(), "-"
        if text[:1] in "+-":
            return None
    if not _NUMBER[notation].fullmatch(text) or not any(c.isdigit() for c in text):
        return None
    group, point = (",", ".") if notation == POINT else (".", ",")
    plain = text.replace(group, "").replace(point, ".")
    if plain.startswith(("0", "-0", "+0")) and re.match(r"[+-]?0\d", plain):
        return None  # leading zeros: an identifier
    try:
        number = Decimal(sign + plain)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None
    return number if fmt.decimal_in_range(number) else None


def _decimal_formats(text: str) -> frozenset[str]:
    return frozenset(n for n in (POINT, COMMA) if parse_decimal(text, n) is not None)


def _integer_formats(text: str) -> frozenset[str]:
    if parse_integer(text) is None:
        return frozenset()
    return frozenset({GROUPED_INTEGER if "," in text else PLAIN_INTEGER})


# -- money -------------------------------------------------------------------------

CURRENCY_SYMBOLS = {
    "US$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₩": "KRW",
    "원": "KRW", "₹": "INR", "円": "JPY", "元": "CNY",
}  # fmt: skip
# ISO 4217 codes we recognise without a symbol: the common ones, so that any three
# capital letters next to a number (a unit, a grade) are not taken for money.
CURRENCY_CODES = frozenset(
    [
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "KRW",
        "CNY",
        "INR",
        "CHF",
        "CAD",
        "AUD",
        "NZD",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "RUB",
        "BRL",
        "MXN",
        "ZAR",
        "SGD",
        "HKD",
        "TWD",
        "THB",
        "IDR",
        "MYR",
        "PHP",
        "VND",
        "TRY",
        "AED",
        "SAR",
        "ILS",
    ]
)
_SYMBOLS = "|".join(
    re.escape(s) for s in sorted(CURRENCY_SYMBOLS, key=len, reverse=True)
)
_MONEY = re.compile(
    rf"(?P<neg>-)?\s*(?P<pre>{_SYMBOLS}|[A-Z]{{3}})?\s*(?P<amount>[(+\-]?[.,]?\d[\d.,]*\)?)"
    rf"\s*(?P<post>{_SYMBOLS}|[A-Z]{{3}})?"
)


def parse_money(text: str, notation: str = POINT) -> tuple[Decimal, str] | None:
    """(amount, ISO currency) from `$1,234.56`, `USD 12.00`, `12.00 EUR`, `₩10,000`,
    `(€12.50)` or `-$5`; None without exactly one currency marker."""
    text = text.strip()
    sign = 1
    accounting = _ACCOUNTING.fullmatch(text)
    if accounting:
        text, sign = accounting.group(1).strip(), -1
    match = _MONEY.fullmatch(text)
    if match is None or (match.group("pre") is None) == (match.group("post") is None):
        return None
    marker = match.group("pre") or match.group("post")
    currency = CURRENCY_SYMBOLS.get(marker) or (
        marker if marker in CURRENCY_CODES else None
    )
    amount = parse_decimal(match.group("amount"), notation)
    if currency is None or amount is None:
        return None
    if match.group("neg"):
        sign = -sign
    return amount * sign, currency


_MONEY_MARK = re.compile(rf"{_SYMBOLS}|[A-Z]{{3}}")


def _money_formats(text: str) -> frozenset[str]:
    if not _MONEY_MARK.search(text):
        return frozenset()
    found = set()
    for notation in (POINT, COMMA):
        parsed = parse_money(text, notation)
        if parsed is not None:
            found.add(parsed[1])
    return frozenset(found)


# -- booleans ----------------------------------------------------------------------

# Pairs per language; `1`/`0` count as boolean too, but lose ties to integer.
BOOLEAN_WORDS: dict[str, bool] = {
    **dict.fromkeys(("true", "t", "yes", "y", "on", "1"), True),
    **dict.fromkeys(("false", "f", "no", "n", "off", "0"), False),
    **dict.fromkeys(("예", "네", "참", "ja", "oui", "sí", "si", "vrai", "wahr"), True),
    **dict.fromkeys(
        ("아니오", "아니요", "거짓", "nein", "non", "faux", "falsch"), False
    ),
    **dict.fromkeys(("verdadero", "sim", "是", "はい", "да"), True),
    **dict.fromkeys(("falso", "não", "否", "いいえ", "нет"), False),
}


def parse_boolean(text: str) -> bool | None:
    return BOOLEAN_WORDS.get(text.strip().lower())


# -- dates and times ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateFormat:
    """A date layout: `pattern` captures three numbers in `order` (y, m, d positions).

    The pattern uses only syntax that Python `re` and RE2 (DuckDB) read alike, so the
    profiling adapter converts the whole column in SQL with the same pattern.
    """

    name: str
    pattern: str
    order: tuple[int, int, int]


DATE_FORMATS = (
    DateFormat("YYYY-MM-DD", r"(\d{4})-(\d{2})-(\d{2})", (1, 2, 3)),
    DateFormat("YYYY/MM/DD", r"(\d{4})/(\d{1,2})/(\d{1,2})", (1, 2, 3)),
    DateFormat("MM/DD/YYYY", r"(\d{1,2})/(\d{1,2})/(\d{4})", (3, 1, 2)),
    DateFormat("DD/MM/YYYY", r"(\d{1,2})/(\d{1,2})/(\d{4})", (3, 2, 1)),
    DateFormat("DD.MM.YYYY", r"(\d{1,2})\.(\d{1,2})\.(\d{4})", (3, 2, 1)),
    DateFormat("YYYY년 MM월 DD일", r"(\d{4})년\s*(\d{1,2})월\s*(\d{1,2})일", (1, 2, 3)),
    DateFormat("YYYY年MM月DD日", r"(\d{4})年\s*(\d{1,2})月\s*(\d{1,2})日", (1, 2, 3)),
)
_DATE_PATTERNS = [(f, re.compile(f.pattern)) for f in DATE_FORMATS]
_DATE_BY_NAME = {f.name: (f, p) for f, p in _DATE_PATTERNS}
DATETIME_OFFSET, DATETIME_NAIVE = "ISO-8601 with offset", "ISO-8601 without offset"
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?\s*([AaPp][Mm])?")


def parse_date(text: str, name: str) -> date | None:
    """The date `text` denotes in the format called `name` (see DATE_FORMATS)."""
    layout, pattern = _DATE_BY_NAME[name]
    match = pattern.fullmatch(text.strip())
    return None if match is None else _valid_date(match, layout)


_DATE_SHAPE = re.compile(r"\d{1,4}\s*[-/.년年]")


def _date_formats(text: str) -> frozenset[str]:
    if not _DATE_SHAPE.match(text):  # a cheap first look: most text is no date
        return frozenset()
    found = set()
    for layout, pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match is not None and _valid_date(match, layout) is not None:
            found.add(layout.name)
    return frozenset(found)


def _valid_date(match: re.Match[str], layout: DateFormat) -> date | None:
    year, month, day = (int(match.group(i)) for i in layout.order)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_datetime(text: str) -> datetime | None:
    text = text.strip()
    if not _DATETIME.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _datetime_formats(text: str) -> frozenset[str]:
    moment = parse_datetime(text)
    if moment is None:
        return frozenset()
    return frozenset({DATETIME_NAIVE if moment.tzinfo is None else DATETIME_OFFSET})


def parse_time(text: str) -> time | None:
    """`HH:MM[:SS[.ffffff]]` or `h:MM[:SS] AM/PM`."""
    match = _TIME.fullmatch(text.strip()) if ":" in text else None
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    meridiem = (match.group(4) or "").lower()
    if meridiem and not 1 <= hour <= 12:
        return None
    if meridiem:
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    try:
        return time(hour, minute, second)
    except ValueError:
        return None


def _time_formats(text: str) -> frozenset[str]:
    if parse_time(text) is None:
        return frozenset()
    if re.search(r"[AaPp][Mm]$", text.strip()):
        return frozenset({"h:MM AM/PM"})
    return frozenset({"HH:MM:SS" if text.count(":") == 2 else "HH:MM"})


# -- identifiers and contacts ------------------------------------------------------

_HYPHENATED_UUID = re.compile(
    r"\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?"
)
_IP_SHAPE = re.compile(r"[0-9A-Fa-f:.%]{2,}[0-9A-Za-z]*")
_PHONE_MARK = re.compile(r"^\+|[ ().-]")


def _one(
    check: Callable[[str], object], label: str = ""
) -> Callable[[str], frozenset[str]]:
    def formats(text: str) -> frozenset[str]:
        return frozenset({label}) if check(text) else frozenset()

    return formats


def _uuid(text: str) -> bool:
    return (
        bool(_HYPHENATED_UUID.fullmatch(text)) and fmt.canonical_uuid(text) is not None
    )


def _url(text: str) -> bool:
    return "://" in text and fmt.canonical_url(text) is not None


def _phone(text: str) -> bool:
    """A valid `phone` value (the ontology's own check) written with a `+` or
    separators: bare digit runs are numbers or ids."""
    if not _PHONE_MARK.search(text) or any(
        p.fullmatch(text) for _, p in _DATE_PATTERNS
    ):
        return False  # `2024-02-30` is a broken date, not a phone number
    return fmt.canonical_phone(text) is not None


def _ip_formats(text: str) -> frozenset[str]:
    if not _IP_SHAPE.fullmatch(text):
        return frozenset()
    address = fmt.canonical_ip(text)
    if address is None:
        return frozenset()
    return frozenset({"IPv6" if ":" in address else "IPv4"})


def _json_formats(text: str) -> frozenset[str]:
    if text[:1] not in "{[":
        return frozenset()
    try:
        value = json.loads(text)
    except ValueError:
        return frozenset()
    if isinstance(value, dict):
        return frozenset({"object"})
    return frozenset({"array"}) if isinstance(value, list) else frozenset()


# -- the column ------------------------------------------------------------------

Detector = Callable[[str], frozenset[str]]
# Most specific first: ties go to the earlier type.
PRIORITY: tuple[tuple[str, Detector], ...] = (
    ("integer", _integer_formats),
    (
        "boolean",
        lambda t: frozenset({""}) if parse_boolean(t) is not None else frozenset(),
    ),
    ("decimal", _decimal_formats),
    ("money", _money_formats),
    ("date", _date_formats),
    ("datetime", _datetime_formats),
    ("time", _time_formats),
    ("uuid", _one(_uuid)),
    ("ip", _ip_formats),
    ("email", _one(lambda t: "@" in t and fmt.canonical_email(t))),
    ("url", _one(_url)),
    ("phone", _one(_phone)),
    ("json", _json_formats),
)
# Types whose values must share one format for the column to be usable.
EXCLUSIVE = frozenset({"decimal", "date"})
_RANK = {name: index for index, (name, _) in enumerate(PRIORITY)}
# No number, date, address or identifier is longer; longer cells are only tried as
# JSON, which also keeps every pattern's work per cell small.
MAX_SCALAR_LENGTH = 256


def name_hints(column: str) -> frozenset[str]:
    """Types a column name suggests (English and Korean words, snake or camel case)."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", column.strip()).lower()
    words = set(re.split(r"[^0-9a-z가-힣]+", name)) - {""}
    hints: set[str] = set()
    rules: tuple[tuple[str, bool], ...] = (
        ("email", bool(words & {"email", "mail", "e_mail"}) or "이메일" in name),
        ("money", bool(words & {"price", "amount", "cost", "total", "salary", "fee"})
         or any(k in name for k in ("가격", "금액", "요금"))),
        ("date", bool(words & {"date", "day", "dob", "birthday"}) or "날짜" in name
         or "일자" in name),
        ("datetime", bool(words & {"timestamp", "at", "datetime"}) or "일시" in name),
        ("boolean", name.startswith(("is_", "has_", "can_", "should_")) or
         bool(words & {"flag", "active", "enabled"}) or "여부" in name),
        ("enum", bool(words & {"status", "type", "category", "kind", "state", "level",
                               "gender", "tier"}) or any(k in name for k in ("상태", "유형", "분류", "종류"))),
        ("phone", bool(words & {"phone", "tel", "mobile", "fax"}) or "전화" in name),
        ("url", bool(words & {"url", "website", "link", "homepage"})),
        ("uuid", bool(words & {"uuid", "guid"})),
        ("ip", bool(words & {"ip", "ipv4", "ipv6"})),
    )  # fmt: skip
    hints.update(kind for kind, hit in rules if hit)
    if "money" in hints:
        hints.add("decimal")  # a price without a currency is a decimal
    return frozenset(hints)


def infer_column(
    values: Iterable[str | None],
    name: str = "",
    *,
    non_null_total: int | None = None,
    distinct_total: int | None = None,
) -> ColumnType:
    """Infer the type of a column from its cells (None or blank is null)."""
    counts = Counter(v.strip() for v in values if v is not None and v.strip())
    return infer_counts(
        counts, name, non_null_total=non_null_total, distinct_total=distinct_total
    )


def infer_counts(
    counts: Mapping[str, int],
    name: str = "",
    *,
    non_null_total: int | None = None,
    distinct_total: int | None = None,
) -> ColumnType:
    """Infer from distinct non-null values and their counts (a sample is fine).

    `non_null_total` and `distinct_total` describe the whole column when `counts`
    is a sample; they decide the enum rule.
    """
    cleaned: Counter[str] = Counter()
    for key, n in counts.items():
        if not is_null(key) and n > 0:
            cleaned[key.strip()] += n
    counts = cleaned
    if not counts:
        return ColumnType("string", 1.0, "every cell is empty: nothing says otherwise")
    hints = name_hints(name)
    rows = sum(counts.values())
    fits = {kind: _fit(counts, detect, kind in EXCLUSIVE) for kind, detect in PRIORITY}
    best = max(fits.values(), key=lambda f: f.count)
    if best.count == 0 or best.count * 2 <= rows:
        return _text(counts, hints, rows, non_null_total, distinct_total)
    tied = [k for k, f in fits.items() if f.count == best.count]
    winner = _tie_break(tied, hints)
    fit = fits[winner]
    confidence = fit.count / rows
    notes = [f"{fit.count} of {rows} non-null values read as {winner}"]
    real_tie = _real_tie(tied, winner)
    if real_tie and winner not in hints:
        confidence *= TIE_PENALTY
        notes.append(f"they also read as {', '.join(real_tie)}; {winner} wins the tie")
    elif real_tie:
        notes.append(f"the column name suggests {winner} over {', '.join(real_tie)}")
    if winner in hints:
        confidence += (1 - confidence) * 0.25
        notes.append(f"the column name {name!r} agrees")
    misfits = [v for v in counts if v not in fit.values]
    if misfits:
        notes.append(
            "counter-examples: " + ", ".join(map(repr, misfits[:COUNTER_EXAMPLES]))
        )
    notes += fit.notes
    return ColumnType(winner, round(min(confidence, 1.0), 4), "; ".join(notes),
                      fit.format, fit.ambiguous)  # fmt: skip


def _real_tie(tied: list[str], winner: str) -> list[str]:
    """Tied types that matter: integers are always decimals, so that tie is no news."""
    subsumed = {"integer": {"decimal"}, "date": {"phone"}, "ip": {"phone"}}
    return [k for k in tied if k != winner and k not in subsumed.get(winner, set())]


def _tie_break(tied: list[str], hints: frozenset[str]) -> str:
    hinted = [k for k in tied if k in hints]
    return min(hinted or tied, key=_RANK.__getitem__)


@dataclass(frozen=True, slots=True)
class _Fit:
    count: int
    values: frozenset[str]
    format: str | None
    ambiguous: bool
    notes: tuple[str, ...] = ()


def _fit(counts: Mapping[str, int], detect: Detector, exclusive: bool) -> _Fit:
    """How many cells fit the type: in its best single format when `exclusive` (a
    column has one date layout or decimal notation), else in any of its formats."""
    per_value = {
        v: detect(v) if len(v) <= MAX_SCALAR_LENGTH or detect is _json_formats
        else frozenset()
        for v in counts
    }  # fmt: skip
    by_format: Counter[str] = Counter()
    for value, formats in per_value.items():
        for form in formats:
            by_format[form] += counts[value]
    if not by_format:
        return _Fit(0, frozenset(), None, False)
    ranked = by_format.most_common()
    top_count = ranked[0][1]
    leaders = sorted(f for f, n in ranked if n == top_count)
    chosen = _preferred(leaders)
    if not exclusive:
        fitting = frozenset(v for v, f in per_value.items() if f)
        count = sum(counts[v] for v in fitting)
        mixed = len(by_format) > 1
        note = (f"formats: {', '.join(f for f, _ in ranked)}",) if mixed else ()
        return _Fit(
            count, fitting, (chosen or None) if not mixed else None, False, note
        )
    fitting = frozenset(v for v, f in per_value.items() if chosen in f)
    ambiguous = len(leaders) > 1 and _reads_differently(leaders, fitting)
    notes: tuple[str, ...] = ()
    if ambiguous:
        notes = (f"every value also reads as {', '.join(f for f in leaders if f != chosen)}; "
                 f"{chosen} was chosen",)  # fmt: skip
    return _Fit(top_count, fitting, chosen or None, ambiguous, notes)


def _preferred(leaders: list[str]) -> str:
    order = ("MM/DD/YYYY", POINT, "USD", "EUR")
    return next((f for f in order if f in leaders), leaders[0])


def _reads_differently(leaders: list[str], values: frozenset[str]) -> bool:
    """Two formats that read every value alike (`2024-01-15` as two separators) are no
    ambiguity; MM/DD vs DD/MM with `01/02/2024`, or `1.234` point vs comma, are."""
    if {"MM/DD/YYYY", "DD/MM/YYYY"} <= set(leaders):
        return any(
            parse_date(v, "MM/DD/YYYY") != parse_date(v, "DD/MM/YYYY") for v in values
        )
    if {POINT, COMMA} <= set(leaders):
        return any(parse_decimal(v, POINT) != parse_decimal(v, COMMA) for v in values)
    return False


def _text(
    counts: Mapping[str, int],
    hints: frozenset[str],
    rows: int,
    non_null_total: int | None,
    distinct_total: int | None,
) -> ColumnType:
    total = non_null_total if non_null_total is not None else rows
    distinct = distinct_total if distinct_total is not None else len(counts)
    hinted = "enum" in hints
    min_rows, ratio = (4, 0.5) if hinted else (ENUM_MIN_ROWS, ENUM_MAX_RATIO)
    short = all(len(v) <= ENUM_MAX_LENGTH for v in counts)
    if (
        total >= min_rows
        and distinct <= ENUM_MAX_VALUES
        and distinct <= total * ratio
        and short
    ):
        reason = (f"{distinct} distinct values in {total} non-null cells: a closed set"
                  + (" (the column name suggests one)" if hinted else ""))  # fmt: skip
        return ColumnType("enum", 1.0 if hinted else 0.9, reason)
    examples = ", ".join(map(repr, list(counts)[:COUNTER_EXAMPLES]))
    return ColumnType(
        "string", 1.0, f"free text: no type fits most values (e.g. {examples})"
    )


# -- values ------------------------------------------------------------------------


def canonical_value(
    kind: str, form: str | None, text: str
) -> int | bool | str | dict[str, str] | None:
    """The value the ontology stores for a cell of an inferred column, or None when the
    cell does not fit: int, bool, canonical decimal text, ISO text, or a money object
    `{amount, currency}`. Types without a conversion keep the trimmed text."""
    text = text.strip()
    converter = _CONVERTERS.get(kind)
    return converter(text, form) if converter is not None else text


def _integer_value(text: str, _: str | None) -> int | None:
    return parse_integer(text)


def _decimal_value(text: str, form: str | None) -> str | None:
    number = parse_decimal(text, COMMA if form == COMMA else POINT)
    return None if number is None else fmt.canonical_decimal(number)


def _money_value(text: str, form: str | None) -> dict[str, str] | None:
    parsed = parse_money(text, COMMA if form == COMMA else POINT)
    if parsed is None:
        return None
    return {"amount": fmt.canonical_decimal(parsed[0]), "currency": parsed[1]}


def _date_value(text: str, form: str | None) -> str | None:
    names = [form] if form else [f.name for f in DATE_FORMATS]
    day = next((d for n in names if (d := parse_date(text, n)) is not None), None)
    return None if day is None else day.isoformat()


def _datetime_value(text: str, _: str | None) -> str | None:
    """Naive date-times stay naive (`2024-01-15T10:00:00`): the mapping's time zone
    decides what they mean."""
    moment = parse_datetime(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.isoformat()
    return fmt.canonical_datetime(moment)


def _time_value(text: str, _: str | None) -> str | None:
    moment = parse_time(text)
    return None if moment is None else moment.isoformat()


def _boolean_value(text: str, _: str | None) -> bool | None:
    return parse_boolean(text)


_CONVERTERS: dict[
    str, Callable[[str, str | None], int | bool | str | dict[str, str] | None]
] = {
    "integer": _integer_value,
    "decimal": _decimal_value,
    "money": _money_value,
    "date": _date_value,
    "datetime": _datetime_value,
    "time": _time_value,
    "boolean": _boolean_value,
}
