"""Event ids derived from a command id are uuid5 texts: the fast derivation must
give exactly what the uuid module gives, or stored ids would change meaning."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from domain.events import _EVENT_ID_NAMESPACE, derived_event_id


@given(command_id=st.text(max_size=200), index=st.integers(0, 10**6))
def test_derived_ids_are_the_uuid5_of_command_and_index(
    command_id: str, index: int
) -> None:
    expected = uuid.uuid5(_EVENT_ID_NAMESPACE, f"{command_id}#{index}")
    assert derived_event_id(command_id, index) == str(expected)
