"""Localized text: a default string plus translations keyed by language tag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# When text is given only as translations, this language supplies the default.
PREFERRED_DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class LocalizedText:
    """`Product`, or `{"en": "Product", "ko": "제품"}`; treat `translations` as read-only."""

    default: str
    translations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, value: str | Mapping[str, str], i18n: Mapping[str, str] | None = None
    ) -> LocalizedText:
        """Build from a string or a language map, plus optional extra translations."""
        own = {} if isinstance(value, str) else dict(value)
        translations = {**own, **(i18n or {})}
        if isinstance(value, str):
            return cls(value, translations)
        default = own.get(PREFERRED_DEFAULT_LANGUAGE) or next(iter(own.values()), "")
        return cls(default, translations)

    def resolve(self, lang: str | None = None) -> str:
        """The text for `lang` (exact tag, then its primary subtag), else the default."""
        if not lang:
            return self.default
        by_tag = {tag.lower(): text for tag, text in self.translations.items()}
        wanted = lang.lower().replace("_", "-")
        return by_tag.get(wanted) or by_tag.get(wanted.split("-")[0]) or self.default

    def __str__(self) -> str:
        return self.default
