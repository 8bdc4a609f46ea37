"""SingleFlight: concurrent misses share one load; cancellation, failure, forget."""

from __future__ import annotations

import asyncio

import pytest

from domain.single_flight import SingleFlight


class Loads:
    """A load that counts its starts and finishes when released."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.started += 1
        number = self.started
        await self.release.wait()
        return f"load {number}"


async def test_concurrent_callers_share_one_load() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    waiting = [asyncio.create_task(flight.run("db", loads)) for _ in range(10)]
    await asyncio.sleep(0)
    loads.release.set()
    assert await asyncio.gather(*waiting) == ["load 1"] * 10
    assert loads.started == 1


async def test_a_finished_load_is_not_reused() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    loads.release.set()
    assert await flight.run("db", loads) == "load 1"
    assert await flight.run("db", loads) == "load 2"


async def test_different_keys_load_separately() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    first = asyncio.create_task(flight.run("a", loads))
    second = asyncio.create_task(flight.run("b", loads))
    await asyncio.sleep(0)
    loads.release.set()
    assert sorted(await asyncio.gather(first, second)) == ["load 1", "load 2"]


async def test_a_cancelled_caller_leaves_the_load_to_the_others() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    quitter = asyncio.create_task(flight.run("db", loads))
    stayer = asyncio.create_task(flight.run("db", loads))
    await asyncio.sleep(0)
    quitter.cancel()
    await asyncio.sleep(0)
    loads.release.set()
    assert await stayer == "load 1"
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert loads.started == 1


async def test_a_failed_load_fails_its_waiters_and_the_next_call_retries() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0)
        if attempts == 1:
            raise ConnectionError("store down")
        return "loaded"

    waiting = [asyncio.create_task(flight.run("db", flaky)) for _ in range(3)]
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert await flight.run("db", flaky) == "loaded"
    assert attempts == 2


async def test_forget_makes_later_callers_start_a_fresh_load() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    stale = asyncio.create_task(flight.run("db", loads))
    await asyncio.sleep(0)
    flight.forget("db")
    fresh = asyncio.create_task(flight.run("db", loads))
    await asyncio.sleep(0)
    loads.release.set()
    assert (await stale, await fresh) == ("load 1", "load 2")
