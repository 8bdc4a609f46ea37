"""The security of one application: authentication, limits, access rules and
the record of denials, built once with the container."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from app.observability.logging import request_id
from app.security.authenticator import Authenticator
from app.security.limits import CostLimiter, SubscriptionCaps
from app.settings import Settings
from domain.ontology import Ontology
from domain.security import (
    NO_RULES,
    AccessRules,
    ClassAccess,
    Grant,
    PolicyRecord,
    Principal,
    Role,
    SecurityStore,
    TokenRecord,
)
from projections.views import SYSTEM_DB, AuditRecord, AuditTrail
from resolvers.context import Context
from resolvers.denials import audit
from resolvers.instances.policies import effective_rules

log = logging.getLogger(__name__)


class Security:
    def __init__(
        self,
        settings: Settings,
        store: SecurityStore,
        admin_secret: str,
        trail: AuditTrail,
    ) -> None:
        self.trail = trail
        self._refusals = _RefusalBudget()
        self.store = ForgetfulStore(store, self)
        self.authenticator = Authenticator(settings, store, admin_secret)
        self.costs = CostLimiter(settings.rate_limit_cost_per_minute)
        self.subscriptions = SubscriptionCaps(settings.max_subscriptions_per_principal)
        self.introspection = settings.graphql_introspection
        self._policy_ttl = settings.auth_cache_seconds
        self._policies: dict[str, tuple[float, list[PolicyRecord]]] = {}
        # (db, role) → the policy list and ontology they were resolved from.
        self._rules: dict[
            tuple[str, Role], tuple[list[PolicyRecord], Ontology, AccessRules]
        ] = {}

    # Admission (app/graphql/engine.py): limits per principal.
    def charge(self, principal: str, cost: int) -> None:
        self.costs.charge(principal, cost)

    def acquire(self, principal: str) -> None:
        self.subscriptions.acquire(principal)

    def release(self, principal: str) -> None:
        self.subscriptions.release(principal)

    def changed(self) -> None:
        """Tokens, grants or policies changed through this process."""
        self.authenticator.forget()
        self._policies.clear()
        self._rules.clear()

    async def unauthenticated(
        self, db: str, path: str, client: str, reason: str
    ) -> None:
        """A request refused for its credentials: recorded in the audit chain
        of the database it asked for, at most a few times a minute per client
        (a flood of bad tokens must not turn into a flood of audit writes)."""
        if not self._refusals.take(client):
            return
        record = AuditRecord(
            db=db or SYSTEM_DB,
            kind="denied",
            action="authenticate",
            principal="anonymous",
            request_id=request_id.get() or "",
            at=datetime.now(UTC),
            detail={
                "reason": reason,
                "path": path[:200].replace("\x00", "\ufffd"),  # NUL: stored nowhere
                "client": client,
            },
        )
        try:
            await self.trail.append([record])
        except Exception:  # the refusal stands even if the audit store is down
            log.exception("could not record a refused authentication")

    def may_introspect(self, principal: Principal, db: str) -> bool:
        if self.introspection == "none":
            return False
        if self.introspection == "admins":
            return principal.may(Role.OWNER, db or "*")
        return True

    async def access(
        self, principal: Principal, db: str, ontology: Ontology
    ) -> AccessRules:
        """The row filters and masks of the principal's role in `db`: none for an
        OWNER or ADMIN (they set the policies), the role's policies otherwise.
        Resolved once per role, policy set and ontology version, not per request."""
        role = principal.role_in(db)
        if role is None or role >= Role.OWNER:
            return NO_RULES
        policies = await self._db_policies(db)
        key = (db, role)
        found = self._rules.get(key)
        if found is not None and found[0] is policies and found[1] is ontology:
            return found[2]
        own = {
            p.class_id: ClassAccess(p.row_filter, frozenset(p.mask_fields))
            for p in policies
            if p.role == role
        }
        rules = effective_rules(ontology, own) if own else NO_RULES
        self._rules[key] = (policies, ontology, rules)
        return rules

    async def _db_policies(self, db: str) -> list[PolicyRecord]:
        now = time.monotonic()
        found = self._policies.get(db)
        if found is not None and found[0] > now:
            return found[1]
        policies = await self.store.policies(db)
        self._policies[db] = (now + self._policy_ttl, policies)
        return policies

    async def denied(self, context: Context, what: str, reason: str, db: str) -> None:
        """Every denial is logged and recorded in the audit chain of `db`."""
        name = context.principal.name
        log.warning("denied %s to %s on %r: %s", what, name, db, reason)
        await audit(context, db, "denied", what, {"reason": reason})


class _RefusalBudget:
    """At most PER_MINUTE audited refusals per client and minute."""

    PER_MINUTE = 10

    def __init__(self) -> None:
        self._minute = 0
        self._counts: dict[str, int] = {}

    def take(self, client: str) -> bool:
        minute = int(time.monotonic() // 60)
        if minute != self._minute:
            self._minute, self._counts = minute, {}
        count = self._counts.get(client, 0)
        if count >= self.PER_MINUTE:
            return False
        self._counts[client] = count + 1
        return True


class ForgetfulStore:
    """The security store, telling the service whenever something changed."""

    def __init__(self, store: SecurityStore, security: Security) -> None:
        self._store = store
        self._security = security

    async def add_token(self, token: TokenRecord) -> None:
        await self._store.add_token(token)

    async def token(self, token_id: str) -> TokenRecord | None:
        return await self._store.token(token_id)

    async def tokens(self, *, created_by: str | None) -> list[TokenRecord]:
        return await self._store.tokens(created_by=created_by)

    async def revoke_token(self, token_id: str, at: str) -> TokenRecord | None:
        found = await self._store.revoke_token(token_id, at)
        self._security.changed()
        return found

    async def grants_of(self, principal: str) -> frozenset[Grant]:
        return await self._store.grants_of(principal)

    async def set_grant(self, principal: str, grant: Grant, by: str, at: str) -> None:
        await self._store.set_grant(principal, grant, by, at)
        self._security.changed()

    async def remove_grant(self, principal: str, db: str) -> bool:
        removed = await self._store.remove_grant(principal, db)
        self._security.changed()
        return removed

    async def grants_in(self, db: str) -> list[tuple[str, Grant]]:
        return await self._store.grants_in(db)

    async def set_policy(self, policy: PolicyRecord) -> None:
        await self._store.set_policy(policy)
        self._security.changed()

    async def remove_policy(self, db: str, class_id: str, role: Role) -> bool:
        removed = await self._store.remove_policy(db, class_id, role)
        self._security.changed()
        return removed

    async def policies(self, db: str) -> list[PolicyRecord]:
        return await self._store.policies(db)
