"""GraphStore.find / count_where with `regex` conditions and long `in` lists of
ids: generated values and patterns, the store's answer against the in-memory
evaluation's (RE2 on the checked pattern, values of other types never match),
on SQLite (the RE2 function) and PostgreSQL (`~` on the pattern written for it)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.graph_store.sql import SqlGraphStore
from domain.ports import GraphStore
from domain.queries import AllOf, Condition, Negated
from domain.regex import parse
from resolvers.instances.patterns import matches
from tests.contract.test_graph_store import on_main
from tests.factories import REGEX_VALUE_ALPHABET, node_version, regex_patterns

T = TypeVar("T")

VALUES = st.one_of(
    st.text(alphabet=REGEX_VALUE_ALPHABET, max_size=8),
    st.integers(-5, 5),  # written under an older type: never matches
    st.none(),
)
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _expected(values: list[Any], source: str) -> list[str]:
    pattern = parse(source)
    return [
        f"n{i:02}"
        for i, v in enumerate(values)
        if isinstance(v, str) and matches(pattern, v)
    ]


async def test_regex_in_the_store_matches_the_in_memory_evaluation(
    graph_store: GraphStore,
) -> None:
    if not isinstance(graph_store, SqlGraphStore):
        return  # other stores may decline (None); the SQL store must answer
    loop = asyncio.get_running_loop()

    def run(work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, loop).result()

    @EXAMPLES
    @given(values=st.lists(VALUES, max_size=8), source=regex_patterns())
    def check(values: list[Any], source: str) -> None:
        db = f"r{uuid.uuid4().hex[:10]}"  # a database per example: no cleanup
        nodes = [
            node_version(db=db, instance_id=f"n{i:02}", values={"name": v})
            for i, v in enumerate(values)
        ]
        run(graph_store.put(nodes))
        where = Condition("name", "regex", parse(source), "text")
        scope = on_main(db=db)
        found = run(graph_store.find(scope, ["Thing"], where=where, limit=50))
        assert found is not None
        expected = _expected(values, source)
        assert [n.instance_id for n in found] == expected, (source, values)
        others = run(graph_store.count_where(scope, ["Thing"], Negated(where)))
        assert others == len(values) - len(expected)

    await asyncio.to_thread(check)


async def test_regex_on_the_id_and_next_to_other_conditions(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(
        [
            node_version(instance_id=i, values={"qty": q})
            for i, q in (("ab-1", 1), ("abb-2", 2), ("xab-3", 3), ("a.b", 4))
        ]
    )
    anchored = Condition(None, "regex", parse("^ab+-"), "text")
    found = await graph_store.find(on_main(), ["Thing"], where=anchored)
    if found is None:
        assert not isinstance(graph_store, SqlGraphStore)
        return
    assert [n.instance_id for n in found] == ["ab-1", "abb-2"]
    both = AllOf((anchored, Condition("qty", "gt", 1, "integer")))
    found = await graph_store.find(on_main(), ["Thing"], where=both)
    assert [n.instance_id for n in found or []] == ["abb-2"]
    dot = Condition(None, "regex", parse("a\\.b"), "text")
    assert await graph_store.count_where(on_main(), ["Thing"], dot) == 1


async def test_a_long_id_list_is_one_statement_with_the_same_answer(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(
        [node_version(instance_id=f"i{n:04}", values={"n": n}) for n in range(300)]
    )
    wanted = [f"i{n:04}" for n in range(0, 600, 2)]  # half of them exist
    where = AllOf(
        (Condition(None, "in", wanted, "text"), Condition("n", "lt", 100, "integer"))
    )
    found = await graph_store.find(on_main(), ["Thing"], where=where, limit=1000)
    if found is None:
        assert not isinstance(graph_store, SqlGraphStore)
        return
    assert [n.instance_id for n in found] == [f"i{n:04}" for n in range(0, 100, 2)]
    outside = Negated(Condition(None, "in", wanted, "text"))
    assert await graph_store.count_where(on_main(), ["Thing"], outside) == 150
