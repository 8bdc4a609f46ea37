"""A live read of the event topic from its end, outside any consumer group: what
subscriptions need. Nothing is committed; undecodable records are skipped (the
projections' groups dead-letter them)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from adapters.errors import StoreError
from adapters.message_bus.kafka_common import KafkaConfig, translated
from adapters.serialization import envelope_from_bytes
from domain.ports import Delivery

log = logging.getLogger(__name__)
METADATA_ATTEMPTS = 50  # 0.1 s apart


class KafkaTail:
    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer

    @classmethod
    async def open(cls, config: KafkaConfig) -> KafkaTail:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=config.bootstrap_servers,
            client_id=f"{config.client_id}-tail",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            request_timeout_ms=config.request_timeout_ms,
        )
        try:
            async with translated("tail"):
                await consumer.start()
                partitions = await _partitions(consumer, config.topic)
                consumer.assign([TopicPartition(config.topic, p) for p in partitions])
                await consumer.seek_to_end()
        except BaseException:
            await consumer.stop()
            raise
        return cls(consumer)

    async def fetch(self, *, max_items: int, max_wait: float) -> list[Delivery]:
        async with translated("tail fetch"):
            batches = await self._consumer.getmany(
                timeout_ms=max(0, int(max_wait * 1000)), max_records=max_items
            )
        deliveries = []
        for partition, records in batches.items():
            for record in records:
                try:
                    envelope = envelope_from_bytes(record.value)
                except (ValueError, KeyError, TypeError, AttributeError) as error:
                    log.warning("tail skips an undecodable record: %r", error)
                    continue
                deliveries.append(Delivery(envelope, (partition, record.offset)))
        return deliveries

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        del deliveries  # a tail belongs to no group: there is nothing to commit

    async def close(self) -> None:
        await self._consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    """The topic's partitions. A consumer in no group knows only the metadata
    it bootstrapped with, which may predate the topic (created a moment ago by
    ensure_topics): without a refresh it would assign nothing and tail nothing."""
    for _ in range(METADATA_ATTEMPTS):
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        await consumer._client.force_metadata_update()  # no public refresh exists
        await asyncio.sleep(0.1)
    raise StoreError(f"kafka: topic {topic!r} has no partitions")
