"""`spice schema export` and `spice schema diff`: the generated SDL as an artifact."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    BreakingChange,
    DangerousChange,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)

from app.bootstrap import open_container
from app.graphql.wiring import INSTANCE_RESOLVERS
from app.settings import Settings
from schema.ontology.builder import build_generated_schema


async def export_sdl(settings: Settings, db: str, branch: str) -> str:
    """The SDL clients of /graphql/{db}/{branch} see, from the current ontology."""
    async with open_container(settings) as container:
        model = container.handlers.model
        await model.refresh_if_stale(db)
        ctx = await model.branch_context(db, branch)
        built = build_generated_schema(
            ctx.ontology,
            resolvers=INSTANCE_RESOLVERS,
            db=db,
            branch=branch,
            version=ctx.ontology_version,
        )
        return built.sdl() + "\n"


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    breaking: list[BreakingChange]
    dangerous: list[DangerousChange]

    def lines(self) -> list[str]:
        return [f"BREAKING {c.type.name}: {c.description}" for c in self.breaking] + [
            f"DANGEROUS {c.type.name}: {c.description}" for c in self.dangerous
        ]


def diff_sdl(old: str, new: str) -> SchemaDiff:
    """Changes from `old` to `new` that break (or may break) existing clients."""
    before, after = build_schema(old), build_schema(new)
    return SchemaDiff(
        find_breaking_changes(before, after), find_dangerous_changes(before, after)
    )
