"""The pure rules behind the hostile-request checks: branch names, NUL in text,
JSON nesting, CORS origins."""

from __future__ import annotations

import json

import pytest

from app.cors import cors_headers, origin_allowed
from app.graphql.wire import MAX_JSON_NESTING, BadPayload, load_json, nesting_exceeds
from domain.commands import CreateInstances, DefineClass, UpdateInstance
from domain.ids import DATABASE_NAME, INSTANCE_ID, branch_name_problem
from domain.ontology.ptypes import parse_type
from domain.strings import command_nul_error, nul_path
from domain.types import validate_value


@pytest.mark.parametrize(
    "name", ["a/../b", "a//b", "a/", "a/.", "a/./b", "..", "/a", ".a", "a\n", "a\x00"]
)
def test_branch_names_that_paths_normalise_are_refused(name: str) -> None:
    assert branch_name_problem(name) is not None


@pytest.mark.parametrize("name", ["feature", "team/a.b-1", "v1.2", "a_b/c..d"])
def test_ordinary_branch_names_are_accepted(name: str) -> None:
    assert branch_name_problem(name) is None


def test_identifiers_do_not_accept_a_trailing_newline() -> None:
    assert DATABASE_NAME.match("shop\n") is None
    assert INSTANCE_ID.match("c1\n") is None


def test_nul_path_finds_strings_keys_and_list_items() -> None:
    assert nul_path("plain") is None
    assert nul_path({"a": ["x", {"b": "y\x00"}]}) == ("a", "1", "b")
    assert nul_path({"k\x00": 1}) == ("k\\0",)
    assert nul_path([[[["\x00"]]]] * 2, ("p",)) is not None


def test_every_property_type_refuses_nul() -> None:
    for spec, value in [
        ("string", "a\x00"),
        ("json", {"deep": ["\x00"]}),
        ("string[]", ["ok", "\x00"]),
    ]:
        _, errors = validate_value(parse_type(spec), {}, value, ("p",))
        assert [e.code for e in errors] == ["nul_character"], spec


def test_a_nul_anywhere_in_a_command_is_found_at_its_input_path() -> None:
    define = DefineClass(db="shop", definition={"id": "A", "label": "\x00"})
    assert _path(define) == ("label",)
    update = UpdateInstance(
        db="shop", class_id="A", instance_id="a\x00", patch={}, expected_seq=1
    )
    assert _path(update) == ("instance_id",)
    bulk = CreateInstances(db="shop", class_id="A", items=[{}, {"name": "\x00"}])
    assert _path(bulk) == ("inputs", "1", "name")
    assert command_nul_error(DefineClass(db="shop", definition={"id": "A"})) is None


def _path(command: object) -> tuple[str, ...]:
    error = command_nul_error(command)
    assert error is not None
    return error.path


def test_json_nesting_is_measured_without_recursion() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_exceeds(deep, MAX_JSON_NESTING)
    assert not nesting_exceeds(json.loads("[" * 100 + "]" * 100), MAX_JSON_NESTING)
    assert nesting_exceeds(json.loads("[" * 101 + "]" * 101), MAX_JSON_NESTING)


@pytest.mark.parametrize("levels", [MAX_JSON_NESTING + 1, 5_000, 1_000_000])
def test_load_json_refuses_deep_nesting_with_a_code(levels: int) -> None:
    with pytest.raises(BadPayload) as raised:
        load_json("[" * levels + "]" * levels)
    assert raised.value.code == "NESTING_TOO_DEEP"


def test_cors_allows_only_listed_origins() -> None:
    assert not origin_allowed("https://a.example", [])
    assert not origin_allowed("null", ["*"])
    assert origin_allowed("https://a.example", ["https://a.example/"])
    assert not origin_allowed("https://a.example.evil", ["https://a.example"])
    assert cors_headers("https://evil.example", ["https://a.example"]) == []
    headers = dict(cors_headers("https://a.example", ["*"]))
    assert headers[b"access-control-allow-origin"] == b"https://a.example"
