"""One definition of a phone number (domain/ontology/formats.py `canonical_phone`):
what type inference calls a phone column, the `phone` type accepts, and back."""

from __future__ import annotations

import pytest

from domain.dataplane.inference import infer_column
from domain.types import parse_type, validate_value

ACCEPTED = {
    "(555) 123-4567": "5551234567",
    "+1 (555) 123-4567": "+15551234567",
    "+82 (10) 1234-5678": "+821012345678",
    "+82 10-1234-5678": "+821012345678",
    "555.123.4567": "5551234567",
    "555-1234": "5551234",
    "(02) 123 4567": "021234567",
}
REFUSED = [
    "12345",  # too few digits
    "+1234567890123456",  # too many
    "(555 123-4567",  # an unclosed bracket
    "555) 123-4567",  # a bracket never opened
    "((555)) 123-4567",  # nested
    "(call) 123-4567",  # letters
    "555-CALL-NOW",
    "+ 1 555 123 4567",  # a space after the plus
]


def phone_value(text: str) -> tuple[object, list[str]]:
    value, errors = validate_value(parse_type("phone"), {}, text, ("f",))
    return value, [e.code for e in errors]


@pytest.mark.parametrize(("text", "canonical"), ACCEPTED.items())
def test_a_phone_inference_detects_is_a_phone_the_type_accepts(
    text: str, canonical: str
) -> None:
    assert infer_column([text, text]).type == "phone"
    assert phone_value(text) == (canonical, [])


@pytest.mark.parametrize("text", REFUSED)
def test_a_text_the_type_refuses_is_no_phone_to_inference(text: str) -> None:
    assert phone_value(text)[1] == ["invalid_format"]
    assert infer_column([text, text]).type != "phone"
