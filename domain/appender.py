"""Appending a command's decided events: one atomic, idempotent batch and a receipt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain import commands as c
from domain.claims import Claim, claim_taken, settle
from domain.commands import CommandMeta, Receipt, command_fingerprint
from domain.events import StreamId
from domain.ports import AppendResult, CommandBatch, EventStore, StreamAppend
from domain.write_model import BranchContext


class Appender:
    """Turns decided events into one atomic, idempotent append and a receipt."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def append(
        self,
        meta: CommandMeta,
        command: c.Command,
        *,
        db: str,
        branch: str,
        appends: Sequence[StreamAppend],
        ontology_version: int = 0,
        registry_version: int | None = None,
        claims: Sequence[Claim] = (),
        quiet_since: Mapping[str, int] | None = None,
    ) -> Receipt:
        first = appends[0]
        if meta.validate_only:
            await self._check_claims(db, branch, claims)
            seq = first.expected_seq + len(first.events)
            return Receipt(
                command_id=meta.command_id,
                db=db,
                aggregate_id=first.stream.aggregate_id,
                seq=seq,
                first_position=0,
                last_position=0,
                validated_only=True,
            )
        batch = CommandBatch(
            db=db,
            branch=branch,
            command_id=meta.command_id,
            request_hash=command_fingerprint(command),
            actor=meta.actor,
            correlation_id=meta.correlation_id or meta.command_id,
            causation_id=meta.causation_id,
            metadata=meta.metadata,
            ontology_version=ontology_version,
            registry_version=registry_version,
            appends=appends,
            claims=claims,
            quiet_since=quiet_since or {},
        )
        return receipt_from(await self.store.append(batch), first.stream)

    async def append_in(
        self,
        meta: CommandMeta,
        command: c.Command,
        ctx: BranchContext,
        appends: Sequence[StreamAppend],
        *,
        claims: Sequence[Claim] = (),
        quiet_since: Mapping[str, int] | None = None,
    ) -> Receipt:
        """`append` on the branch a command was decided on, checked against the
        ontology and registry versions it was decided with."""
        return await self.append(
            meta,
            command,
            db=ctx.db,
            branch=ctx.branch,
            appends=appends,
            ontology_version=ctx.ontology_version,
            registry_version=ctx.registry_version,
            claims=claims,
            quiet_since=quiet_since,
        )

    async def _check_claims(
        self, db: str, branch: str, claims: Sequence[Claim]
    ) -> None:
        """What the append would say of the claims, for a command only
        validated: ClaimTaken if another instance holds a key asked for."""
        if not claims:
            return
        keys = sorted({(claim.scope, claim.key) for claim in claims})
        holders = await self.store.claim_holders(db, branch, keys)
        taken = settle(claims, dict(holders)).taken
        if taken:
            raise claim_taken(taken)


def receipt_from(result: AppendResult, first: StreamId) -> Receipt:
    seq = result.heads.get(first)
    if seq is None:  # a stored result is keyed by the stream it recorded first
        first_key = next(iter(result.heads))
        first, seq = first_key, result.heads[first_key]
    return Receipt(
        command_id=result.command_id,
        db=result.db,
        aggregate_id=first.aggregate_id,
        seq=seq,
        first_position=result.first_position,
        last_position=result.last_position,
        duplicate=result.duplicate,
    )
