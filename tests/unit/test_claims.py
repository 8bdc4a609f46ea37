"""Unique keys of instances (domain.claims): which keys a state holds, and how a
batch of claims settles against the current holders."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from domain.claims import (
    Claim,
    claims_between,
    held_keys,
    rescoped,
    settle,
    value_key,
)
from domain.errors import TakenKey
from domain.ontology import Ontology, validate_class_definition


def define(ontology: Ontology, data: dict[str, Any]) -> Ontology:
    defined, errors = validate_class_definition(ontology, data, is_update=False)
    assert errors == [], errors
    assert defined is not None
    return ontology.with_class(defined)


def people() -> Ontology:
    """Person (email unique, code unique key) <- Employee (badge unique);
    Employee.desk 1:1 -> Desk, Employee.team n:1 -> Desk."""
    ontology = Ontology()
    for data in (
        {"id": "Desk", "primary_key": "desk_id", "properties": [{"name": "desk_id", "type": "string"}]},
        {
            "id": "Person",
            "primary_key": "code",
            "properties": [
                {"name": "code", "type": "string", "unique": True},
                {"name": "email", "type": "string", "unique": True},
                {"name": "name", "type": "string"},
            ],
        },
        {
            "id": "Employee",
            "parent": "Person",
            "properties": [{"name": "badge", "type": "integer", "unique": True}],
            "relationships": [
                {"predicate": "desk", "target": "Desk", "cardinality": "1:1"},
                {"predicate": "team", "target": "Desk", "cardinality": "n:1"},
            ],
        },
    ):  # fmt: skip
        ontology = define(ontology, data)
    return ontology


def state(class_id: str, values: dict[str, Any], links: dict[str, list[str]]) -> Any:
    return {"class_id": class_id, "values": values, "links": links}


def test_a_state_holds_its_unique_values_and_exclusive_targets() -> None:
    employee = state(
        "Employee",
        {"code": "E1", "email": "a@x", "name": "Ada", "badge": 7},
        {"desk": ["D1"], "team": ["D2"]},
    )

    assert held_keys(people(), employee) == {
        ("unique:Person.email", '"a@x"'),
        ("unique:Employee.badge", "7"),
        ("target:Employee.desk", "D1"),
    }


def test_subclass_instances_share_the_scope_of_the_declaring_class() -> None:
    ontology = people()
    person = state("Person", {"code": "P1", "email": "a@x"}, {})
    employee = state("Employee", {"code": "E1", "email": "a@x"}, {})

    assert held_keys(ontology, person) == held_keys(ontology, employee)


def test_nothing_is_held_without_a_state_or_a_value() -> None:
    ontology = people()

    assert held_keys(ontology, None) == frozenset()
    assert held_keys(ontology, state("Person", {"code": "P1"}, {})) == frozenset()


def test_equal_values_give_equal_keys_and_long_ones_a_digest() -> None:
    assert value_key({"b": 1, "a": [1, 2]}) == value_key({"a": [1, 2], "b": 1})
    assert value_key("1") != value_key(1)
    long = value_key("x" * 500)
    assert long.startswith("#sha256:")
    assert long != value_key("x" * 501)


def test_a_change_gives_up_old_keys_and_takes_new_ones() -> None:
    before = frozenset({("s", "a"), ("s", "b")})
    after = frozenset({("s", "b"), ("s", "c")})

    assert claims_between("H", before, after) == [
        Claim("s", "a", "H", take=False),
        Claim("s", "c", "H", take=True),
    ]


class TestSettle:
    def test_a_free_key_goes_to_the_taker(self) -> None:
        settled = settle([Claim("s", "a", "H", take=True)], {})

        assert settled.changes == {("s", "a"): "H"}
        assert settled.taken == []

    def test_a_held_key_is_reported_and_not_changed(self) -> None:
        settled = settle([Claim("s", "a", "H", take=True)], {("s", "a"): "O"})

        assert settled.changes == {}
        assert settled.taken == [TakenKey("s", "a", "H", "O")]

    def test_only_the_holder_frees_a_key(self) -> None:
        holders = {("s", "a"): "O"}

        assert settle([Claim("s", "a", "H", take=False)], holders).changes == {}
        freed = settle([Claim("s", "a", "O", take=False)], holders)
        assert freed.changes == {("s", "a"): None}

    def test_releases_come_first_so_a_batch_can_swap_keys(self) -> None:
        holders = {("s", "a"): "X", ("s", "b"): "Y"}
        claims = [
            Claim("s", "b", "X", take=True),
            Claim("s", "a", "Y", take=True),
            Claim("s", "a", "X", take=False),
            Claim("s", "b", "Y", take=False),
        ]

        settled = settle(claims, holders)

        assert settled.changes == {("s", "a"): "Y", ("s", "b"): "X"}
        assert settled.taken == []

    def test_two_takers_in_one_batch_the_first_wins(self) -> None:
        claims = [Claim("s", "a", "X", take=True), Claim("s", "a", "Y", take=True)]

        settled = settle(claims, {})

        assert settled.changes == {("s", "a"): "X"}
        assert settled.taken == [TakenKey("s", "a", "Y", "X")]


def test_rescoped_names_the_classes_whose_keys_change() -> None:
    ontology = people()
    person = ontology.get("Person")
    assert person is not None
    properties = tuple(
        replace(p, unique=False) if p.name == "email" else p for p in person.properties
    )
    changed = ontology.with_class(replace(person, properties=properties))

    assert rescoped(ontology, changed, "Person") == ("Employee", "Person")
    assert rescoped(ontology, ontology, "Person") == ()
