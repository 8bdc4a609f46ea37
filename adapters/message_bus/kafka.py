"""MessageBus on Kafka (aiokafka): one topic keyed by stream, an idempotent producer,
consumer groups per projection and a dead-letter topic."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

from adapters.message_bus.kafka_common import (
    Headers,
    KafkaConfig,
    error_headers,
    event_headers,
    message_key,
    translated,
)
from adapters.message_bus.kafka_subscription import KafkaSubscription
from adapters.message_bus.kafka_tail import KafkaTail
from adapters.serialization import envelope_to_bytes
from domain.events import EventEnvelope

_TOPIC_ALREADY_EXISTS = 36


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Marks a send's failure as seen (its batch failed with the one reported)."""
    if not future.cancelled():
        future.exception()


class KafkaMessageBus:
    """Durable: the relay publishes once and checkpoints; consumers resume from the
    group's committed offsets. Events are keyed by stream (`message_key`), values
    are `envelope_to_bytes`, headers carry event_id, event_type and position."""

    durable = True

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._topics_ready = False

    @property
    def topic(self) -> str:
        return self.config.topic

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        if not envelopes:
            return
        await self._send(
            self.config.topic,
            [
                (message_key(e), envelope_to_bytes(e), event_headers(e))
                for e in envelopes
            ],
        )

    async def publish_dead_letter(
        self,
        envelope: EventEnvelope,
        error: BaseException,
        *,
        consumer: str | None = None,
        attempts: int | None = None,
    ) -> None:
        """Publishes the event to `<topic>.dlq` with the error class and message
        (and the consumer and attempt count, when given) in its headers."""
        headers = event_headers(envelope) + error_headers(error)
        if consumer is not None:
            headers.append(("consumer", consumer.encode()))
        if attempts is not None:
            headers.append(("attempts", str(attempts).encode()))
        message = (message_key(envelope), envelope_to_bytes(envelope), headers)
        await self._send(self.config.dead_letter_topic, [message])

    async def publish_raw_dead_letter(
        self, key: bytes | None, value: bytes | None, headers: Headers
    ) -> None:
        """For records that cannot even be decoded into an envelope."""
        await self._send(self.config.dead_letter_topic, [(key, value, headers)])

    async def subscribe(self, group: str) -> KafkaSubscription:
        await self.ensure_topics()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.bootstrap_servers,
            client_id=self.config.client_id,
            group_id=self.config.group_id(group),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=self.config.request_timeout_ms,
            session_timeout_ms=self.config.session_timeout_ms,
            heartbeat_interval_ms=self.config.heartbeat_interval_ms,
            group_instance_id=self.config.group_instance_id,
            fetch_min_bytes=self.config.fetch_min_bytes,
            fetch_max_wait_ms=self.config.fetch_max_wait_ms,
        )
        subscription = KafkaSubscription(
            consumer, dead_letter=self.publish_raw_dead_letter
        )
        consumer.subscribe(topics=[self.config.topic], listener=subscription.listener)
        try:
            async with translated("subscribe"):
                await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        return subscription

    async def tail(self) -> KafkaTail:
        """Reads from the end of the event topic, in no consumer group."""
        await self.ensure_topics()
        return await KafkaTail.open(self.config)

    async def ensure_topics(self) -> None:
        """Creates the event and dead-letter topics with the configured partitions."""
        if self._topics_ready:
            return
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.config.bootstrap_servers,
            client_id=self.config.client_id,
            request_timeout_ms=self.config.request_timeout_ms,
        )
        try:
            async with translated("create topics"):
                await admin.start()
                response = await admin.create_topics(
                    [
                        NewTopic(
                            name, self.config.partitions, self.config.replication_factor
                        )
                        for name in (self.config.topic, self.config.dead_letter_topic)
                    ]
                )
                for topic, code, *_ in response.topic_errors:
                    if code not in (0, _TOPIC_ALREADY_EXISTS):
                        raise for_code(code)(f"creating topic {topic}")
        finally:
            await admin.close()
        self._topics_ready = True

    async def close(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def _send(
        self, topic: str, messages: Sequence[tuple[bytes | None, bytes | None, Headers]]
    ) -> None:
        producer = await self._started_producer()
        pending: list[asyncio.Future[Any]] = []
        try:
            async with translated("publish"):
                # send() only appends to the partition's batch, in call order; the
                # idempotent producer keeps that order on the broker, retries included.
                for key, value, headers in messages:
                    sent = await producer.send(
                        topic, value=value, key=key, headers=headers
                    )
                    pending.append(sent)
                # Wait for every send, so no failed future is left unretrieved.
                outcomes = await asyncio.gather(*pending, return_exceptions=True)
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        raise outcome
        except BaseException:
            for future in pending:
                future.add_done_callback(_retrieve)
            # A batch that failed (say, timed out while the broker was down) leaves
            # the idempotent producer's sequence numbers ahead of the broker's: it
            # would fail for ever with OutOfOrderSequenceNumber. The next publish
            # starts a fresh producer (a new producer id); the relay republishes
            # from its checkpoint, so nothing is lost (R8).
            await self._discard(producer)
            raise

    async def _discard(self, producer: AIOKafkaProducer) -> None:
        async with self._lock:
            if self._producer is producer:
                self._producer = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                producer.stop(), timeout=self.config.request_timeout_ms / 1000
            )

    async def _started_producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is not None:
                return self._producer
            await self.ensure_topics()
            producer = AIOKafkaProducer(
                bootstrap_servers=self.config.bootstrap_servers,
                client_id=self.config.client_id,
                enable_idempotence=True,
                acks="all",
                request_timeout_ms=self.config.request_timeout_ms,
            )
            try:
                async with translated("connect"):
                    await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
            return producer
