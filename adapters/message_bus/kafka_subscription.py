"""A consumer-group subscription on Kafka that commits, per partition, only the
gapless prefix of the deliveries the caller has handled."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError

from adapters.errors import StoreError
from adapters.message_bus.kafka_common import Headers, error_headers, translated
from adapters.serialization import envelope_from_bytes
from domain.ports import Delivery

log = logging.getLogger(__name__)

RawDeadLetter = Callable[[bytes | None, bytes | None, Headers], Awaitable[None]]
# aiokafka's TopicPartition (a NamedTuple of topic and partition).
Partition = Any


@dataclass(frozen=True, slots=True)
class KafkaToken:
    """The offset handle of a delivery: which assignment (epoch) handed it out."""

    partition: Partition
    offset: int
    epoch: int


@dataclass(slots=True)
class _PartitionState:
    epoch: int
    handed: deque[int] = field(default_factory=deque)  # ascending, not yet committed
    done: set[int] = field(default_factory=set)

    def advance(self) -> int | None:
        """Drops the handled prefix of `handed`; returns its last offset, if any."""
        last = None
        while self.handed and self.handed[0] in self.done:
            last = self.handed.popleft()
            self.done.discard(last)
        return last


class KafkaSubscription:
    """`fetch` hands out records in offset order per partition; `commit` marks
    deliveries handled and commits `offset + 1` of the gapless handled prefix of
    each partition. After a rebalance, deliveries of the old assignment are
    ignored by `commit`: the new owner of the partition gets them again."""

    def __init__(self, consumer: Any, *, dead_letter: RawDeadLetter) -> None:
        self._consumer = consumer
        self._dead_letter = dead_letter
        self._partitions: dict[Partition, _PartitionState] = {}
        self._epoch = 0
        self.listener = _RebalanceListener(self)

    async def fetch(self, *, max_items: int, max_wait: float) -> list[Delivery]:
        async with translated("fetch"):
            batches = await self._consumer.getmany(
                timeout_ms=max(0, int(max_wait * 1000)), max_records=max_items
            )
        deliveries = []
        for partition, records in batches.items():
            state = self._state(partition)
            for record in records:
                state.handed.append(record.offset)
                delivery = await self._decode(partition, state, record)
                if delivery is not None:
                    deliveries.append(delivery)
        return deliveries

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            token: KafkaToken = delivery.token
            state = self._partitions.get(token.partition)
            if state is not None and state.epoch == token.epoch:
                state.done.add(token.offset)
        await self._commit_prefixes(list(self._partitions))

    async def close(self) -> None:
        await self._consumer.stop()

    async def _decode(
        self, partition: Partition, state: _PartitionState, record: Any
    ) -> Delivery | None:
        try:
            envelope = envelope_from_bytes(record.value)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            # A record no consumer can read: dead-letter it and count it as handled,
            # so it neither blocks the partition nor is committed unseen.
            log.error(
                "undecodable record at %s@%s: %r", partition, record.offset, error
            )
            headers = [*list(record.headers or ()), *error_headers(error)]
            await self._dead_letter(record.key, record.value, headers)
            state.done.add(record.offset)
            return None
        return Delivery(envelope, KafkaToken(partition, record.offset, state.epoch))

    async def _commit_prefixes(self, partitions: Iterable[Partition]) -> None:
        offsets = {}
        for partition in partitions:
            last = self._partitions[partition].advance()
            if last is not None:
                offsets[partition] = last + 1
        if not offsets:
            return
        try:
            async with translated("commit"):
                await self._consumer.commit(offsets)
        except CommitFailedError as error:
            # The group rebalanced: another member owns these partitions now and
            # resumes from the last committed offset; redelivery is harmless.
            log.warning("commit skipped after a rebalance: %r", error)

    async def _revoked(self, revoked: Iterable[Partition]) -> None:
        owned = [p for p in revoked if p in self._partitions]
        try:
            await self._commit_prefixes(owned)
        except StoreError as error:
            log.warning("could not flush offsets of revoked partitions: %r", error)
        for partition in owned:
            del self._partitions[partition]

    def _assigned(self, assigned: Iterable[Partition]) -> None:
        self._epoch += 1
        for partition in assigned:
            self._partitions[partition] = _PartitionState(self._epoch)

    def _state(self, partition: Partition) -> _PartitionState:
        state = self._partitions.get(partition)
        if state is None:
            state = self._partitions[partition] = _PartitionState(self._epoch)
        return state


class _RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka has no type hints
    """Flushes the handled prefix of revoked partitions, then drops their state."""

    def __init__(self, subscription: KafkaSubscription) -> None:
        self._subscription = subscription

    async def on_partitions_revoked(self, revoked: Iterable[Partition]) -> None:
        await self._subscription._revoked(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[Partition]) -> None:
        self._subscription._assigned(assigned)
