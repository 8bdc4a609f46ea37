"""The pattern language of the `regex` filter operator: a subset that RE2 (the
in-memory evaluation, and SQLite's `spice_regex` function) and PostgreSQL's `~`
read the same way. A pattern is parsed here and written out anew for each
engine, so no engine ever sees a construct it could read differently.

Accepted:
- literal characters; a backslash before ASCII punctuation makes it literal;
  `\\n \\t \\r \\f \\v`;
- `.` (any character but a newline); `^` and `$` (start and end of the whole
  value: `$` does not match before a final newline, as Python's would);
- classes `[abc]`, `[^a-z]`; `\\d \\w \\s` (ASCII only: `[0-9]`, `[0-9A-Za-z_]`,
  `[\\t\\n\\v\\f\\r ]`), and `\\D \\W \\S` outside classes;
- groups `(…)` and `(?:…)`, alternation `|`;
- greedy quantifiers `* + ? {m} {m,} {m,n}` with m <= n <= 255.
A match anywhere in the value counts (search, not full match).

Rejected, because the engines disagree on them or they cost more than linear
time: backreferences, lookahead and lookbehind, flags and inline modifiers, named
groups, lazy and possessive quantifiers, `\\b \\B \\A \\Z` and other letter
escapes, POSIX classes, NUL, patterns longer than MAX_LENGTH characters, and
patterns whose counted repetitions multiply out past MAX_SIZE characters.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

MAX_LENGTH = 256
MAX_REPEAT = 255  # PostgreSQL's limit on a counted repetition
MAX_SIZE = 1000

Range = tuple[int, int]
_NEWLINE: tuple[Range, ...] = ((10, 10),)
_SHORTHANDS: dict[str, tuple[Range, ...]] = {
    "d": ((48, 57),),
    "w": ((48, 57), (65, 90), (95, 95), (97, 122)),
    "s": ((9, 13), (32, 32)),
}
_CONTROLS = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}
_PUNCTUATION = frozenset(string.punctuation)


class RegexError(ValueError):
    """A pattern outside the supported subset; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Chars:
    """One character out of a set: a literal, `.`, a class or a shorthand."""

    ranges: tuple[Range, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Anchor:
    end: bool


@dataclass(frozen=True, slots=True)
class Repeat:
    node: Node
    low: int
    high: int | None  # None: unbounded


@dataclass(frozen=True, slots=True)
class Sequence:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Choice:
    options: tuple[Node, ...]


Node = Chars | Anchor | Repeat | Sequence | Choice


@dataclass(frozen=True, slots=True)
class Regex:
    """A checked pattern, written out for RE2 and for PostgreSQL's `~`."""

    source: str
    re2: str
    postgres: str


def parse(source: str) -> Regex:
    if len(source) > MAX_LENGTH:
        raise RegexError(f"longer than {MAX_LENGTH} characters")
    tree = _Parser(source).pattern()
    if size(tree) > MAX_SIZE:
        raise RegexError(f"its repetitions multiply out past {MAX_SIZE} characters")
    return Regex(source, emit(tree, _re2_char), emit(tree, _postgres_char))


def size(node: Node) -> int:
    """How many characters the pattern stands for with counted repetitions
    written out: what the engines' compiled programs grow with."""
    if isinstance(node, Repeat):
        return size(node.node) * max(node.low, node.high or 0, 1)
    if isinstance(node, Sequence):
        return sum(size(n) for n in node.items)
    if isinstance(node, Choice):
        return sum(size(n) for n in node.options)
    return 1


# --- parsing ---------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, what: str) -> NoReturn:
        raise RegexError(f"{what} (at position {self.at})")

    def peek(self, ahead: int = 0) -> str | None:
        index = self.at + ahead
        return self.text[index] if index < len(self.text) else None

    def take(self) -> str:
        char = self.text[self.at]
        self.at += 1
        return char

    def pattern(self) -> Node:
        tree = self.choice()
        if self.peek() is not None:
            self.fail("unbalanced ')'")
        return tree

    def choice(self) -> Node:
        options = [self.sequence()]
        while self.peek() == "|":
            self.take()
            options.append(self.sequence())
        if len(options) == 1:
            return options[0]
        if any(o == Sequence(()) for o in options):
            self.fail("empty alternative")
        return Choice(tuple(options))

    def sequence(self) -> Node:
        items: list[Node] = []
        while self.peek() not in (None, "|", ")"):
            items.append(self.quantified())
        return items[0] if len(items) == 1 else Sequence(tuple(items))

    def quantified(self) -> Node:
        atom = self.atom()
        bounds = self.quantifier()
        if bounds is None:
            return atom
        if isinstance(atom, Anchor):
            self.fail("an anchor cannot be repeated")
        if self.peek() in ("*", "+", "?", "{"):
            self.fail("lazy, possessive and repeated quantifiers are not supported")
        return Repeat(atom, *bounds)

    def quantifier(self) -> tuple[int, int | None] | None:
        simple = {"*": (0, None), "+": (1, None), "?": (0, 1)}
        char = self.peek()
        if char in simple:
            self.take()
            return simple[char]
        if char != "{":
            return None
        self.take()
        low = self.number()
        high: int | None = low
        if self.peek() == ",":
            self.take()
            high = None if self.peek() == "}" else self.number()
        if self.peek() != "}":
            self.fail("a '{' must start a quantifier {m}, {m,} or {m,n}; write \\{")
        self.take()
        if high is not None and high < low:
            self.fail("a quantifier's maximum is below its minimum")
        return low, high

    def number(self) -> int:
        digits = ""
        while (char := self.peek()) is not None and char in string.digits:
            digits += self.take()
        if not digits:
            self.fail("a '{' must start a quantifier {m}, {m,} or {m,n}; write \\{")
        if int(digits) > MAX_REPEAT:
            self.fail(f"a counted repetition above {MAX_REPEAT}")
        return int(digits)

    def atom(self) -> Node:
        char = self.take()
        if char == "(":
            return self.group()
        if char == "[":
            return self.char_class()
        if char == ".":
            return Chars(_NEWLINE, negated=True)
        if char in "^$":
            return Anchor(end=char == "$")
        if char == "\\":
            return self.escape()
        if char in "*+?{":
            self.fail("nothing to repeat")
        if char in "]}":
            self.fail(f"unescaped {char!r}; write \\{char}")
        return _literal(self.checked(char))

    def group(self) -> Node:
        if self.peek() == "?":
            self.take()
            if self.peek() != ":":
                self.fail(
                    "only (?: groups are supported: no lookaround, flags, "
                    "named groups or comments"
                )
            self.take()
        inner = self.choice()
        if self.peek() != ")":
            self.fail("missing ')'")
        self.take()
        if inner == Sequence(()):
            self.fail("empty group")
        return inner

    def escape(self) -> Node:
        char = self.escaped()
        if char in _SHORTHANDS:
            return Chars(_SHORTHANDS[char])
        if char.lower() in _SHORTHANDS:
            return Chars(_SHORTHANDS[char.lower()], negated=True)
        return _literal(self.plain_escape(char))

    def escaped(self) -> str:
        if self.peek() is None:
            self.fail("a pattern cannot end with a backslash")
        return self.take()

    def plain_escape(self, char: str) -> str:
        """The character a backslash escape other than a shorthand stands for."""
        if char in _CONTROLS:
            return _CONTROLS[char]
        if char in _PUNCTUATION or not char.isascii():
            return self.checked(char)
        if char.isdigit():
            self.fail("backreferences are not supported")
        return self.fail(f"unsupported escape \\{char}")

    def checked(self, char: str) -> str:
        if char == "\x00":
            self.fail("NUL is not supported")
        return char

    def char_class(self) -> Node:
        negated = self.peek() == "^"
        if negated:
            self.take()
        if self.peek() == "]":
            self.fail("empty class; write \\] for a literal ']'")
        ranges: list[Range] = []
        while self.peek() != "]":
            if self.peek() is None:
                self.fail("missing ']'")
            ranges.extend(self.class_item())
        self.take()
        return Chars(tuple(ranges), negated)

    def class_item(self) -> tuple[Range, ...]:
        low = self.class_char()
        if isinstance(low, tuple):
            return low
        if self.peek() != "-" or self.peek(1) in ("]", None):
            return ((ord(low), ord(low)),)
        self.take()
        high = self.class_char()
        if isinstance(high, tuple):
            self.fail("a shorthand cannot end a range")
        if ord(high) < ord(low):
            self.fail("a range's end is below its start")
        return ((ord(low), ord(high)),)

    def class_char(self) -> str | tuple[Range, ...]:
        """One character of a class, or the ranges of a shorthand."""
        char = self.take()
        if char == "[":
            self.fail("write \\[ for a literal '[' in a class (no POSIX classes)")
        if char != "\\":
            return self.checked(char)
        char = self.escaped()
        if char in _SHORTHANDS:
            return _SHORTHANDS[char]
        if char.lower() in _SHORTHANDS:
            self.fail(f"\\{char} is not supported inside a class")
        return self.plain_escape(char)


def _literal(char: str) -> Chars:
    return Chars(((ord(char), ord(char)),))


# --- writing out -------------------------------------------------------------------


def emit(node: Node, char: Callable[[int], str]) -> str:
    """The pattern for one engine: every character but ASCII letters and digits
    written as a code-point escape, every group non-capturing."""
    if isinstance(node, Chars):
        return _chars(node, char)
    if isinstance(node, Anchor):
        return "$" if node.end else "^"
    if isinstance(node, Sequence):
        return "".join(
            _grouped(n, char) if isinstance(n, Choice) else emit(n, char)
            for n in node.items
        )
    if isinstance(node, Choice):
        return "|".join(emit(n, char) for n in node.options)
    operand = emit(node.node, char)
    if not isinstance(node.node, Chars):
        operand = f"(?:{operand})"
    return operand + _quantifier(node.low, node.high)


def _grouped(node: Node, char: Callable[[int], str]) -> str:
    return f"(?:{emit(node, char)})"


def _chars(node: Chars, char: Callable[[int], str]) -> str:
    if not node.negated and len(node.ranges) == 1:
        low, high = node.ranges[0]
        if low == high:
            return char(low)
    parts = "".join(
        char(low) if low == high else f"{char(low)}-{char(high)}"
        for low, high in node.ranges
    )
    return f"[{'^' if node.negated else ''}{parts}]"


def _quantifier(low: int, high: int | None) -> str:
    if high is None:
        return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
    if (low, high) == (0, 1):
        return "?"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


def _plain(code: int) -> bool:
    return code < 128 and chr(code).isalnum()


def _re2_char(code: int) -> str:
    return chr(code) if _plain(code) else f"\\x{{{code:X}}}"


def _postgres_char(code: int) -> str:
    if _plain(code):
        return chr(code)
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"
