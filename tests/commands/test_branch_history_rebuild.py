"""Projections rebuilt after rebases, reverts, protection and a proposal's merge
hash-equal the live ones: every step is an ordinary event the read side replays."""

from __future__ import annotations

from app.bootstrap import Container
from app.rebuild import REBUILDABLE, rebuild
from domain import commands as c
from domain.commands import CommandMeta
from domain.ids import new_command_id
from tests.commands.branching import branch, create, head, update
from tests.commands.conftest import run
from tests.reliability.support import wait_for_checkpoints


async def settled(container: Container) -> None:
    end = await head(container)
    assert await container.waiter.wait("APPLIED", "shop", end, max_wait=60)
    assert await container.waiter.wait("INDEXED", "shop", end, max_wait=60)
    await wait_for_checkpoints(container, ["catalog", "audit"], end, db="shop")


async def hashes(container: Container) -> dict[str, str]:
    return {
        "graph": await container.graph.content_hash(),
        "search": await container.search.content_hash(),
        "catalog": await container.catalog.content_hash(),
        "audit": await container.audit.content_hash(),
    }


async def test_rebuilt_projections_equal_the_live_ones(
    shop: Container, running: Container
) -> None:
    for pid in ("p1", "p2", "p3"):
        await create(shop, pid, stock=1)
    await branch(shop, "feature")
    await update(shop, "p1", "feature", stock=5)
    await update(shop, "p2", name="on main")
    await run(shop, c.RebaseBranch(db="shop", branch="feature"))
    mistake = await update(shop, "p3", stock=9)
    await run(shop, c.RevertCommand(db="shop", command_id=mistake.command_id))
    await run(
        shop,
        c.ProtectBranch(db="shop", name="main", require_proposal=True),
    )
    opened = c.OpenProposal(db="shop", proposal_id="pr", source="feature", title="t")
    await run(shop, opened)
    merge = c.MergeProposal(db="shop", proposal_id="pr")
    await shop.handlers.dispatch(
        merge, CommandMeta(command_id=new_command_id(), actor="bob")
    )
    await settled(running)
    before = await hashes(running)
    for name in REBUILDABLE:
        report = await rebuild(running, name)
        assert report.shadow_hash == before[name], name
    assert await hashes(running) == before
