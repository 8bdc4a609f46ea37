"""Bearer value → Principal: the bootstrap admin token, API tokens, JWTs.

A process remembers what it authenticated for `auth_cache_seconds` (a hash
lookup instead of a database read per request); a revocation or grant change
made through this process forgets it at once, one made elsewhere takes effect
within that time."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from app.security.jwt_keys import BadToken, JwtVerifier
from app.settings import Settings
from domain.security import (
    ALL_DATABASES,
    Grant,
    Principal,
    Role,
    SecurityStore,
    same_secret,
    token_id_of,
)

ADMIN_PRINCIPAL = "admin"
_CACHE_SIZE = 10_000
# A claim a JWT issuer may use to carry grants: [{"db": "shop", "role": "EDITOR"}].
GRANTS_CLAIM = "spice_grants"


class Unauthenticated(Exception):
    """No usable credentials; the message is safe to show the caller."""


class Authenticator:
    def __init__(
        self, settings: Settings, store: SecurityStore, admin_secret: str
    ) -> None:
        self._store = store
        self._admin_secret = admin_secret
        self._jwt = JwtVerifier.from_settings(settings)
        self._ttl = settings.auth_cache_seconds
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def forget(self) -> None:
        """Drops every remembered principal (a token was revoked, a grant changed)."""
        self._cache.clear()

    async def principal(self, authorization: str | None) -> Principal:
        bearer = bearer_of(authorization)
        now = time.monotonic()
        found = self._cache.get(bearer)
        if found is not None and found[0] > now:
            return found[1]
        principal, expires_in = await self._authenticate(bearer)
        lifetime = min(self._ttl, expires_in)
        if lifetime > 0:
            self._cache[bearer] = (now + lifetime, principal)
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return principal

    async def _authenticate(self, bearer: str) -> tuple[Principal, float]:
        if hmac.compare_digest(bearer.encode(), self._admin_secret.encode()):
            admin = Principal(
                ADMIN_PRINCIPAL, frozenset({Grant(ALL_DATABASES, Role.ADMIN)}), "admin"
            )
            return admin, float("inf")
        token_id = token_id_of(bearer)
        if token_id is not None:
            return await self._api_token(token_id, bearer)
        if bearer.count(".") == 2 and self._jwt is not None:
            return await self._json_web_token(bearer)
        raise Unauthenticated("The bearer token is not valid.")

    async def _api_token(self, token_id: str, bearer: str) -> tuple[Principal, float]:
        record = await self._store.token(token_id)
        if record is None or not same_secret(bearer, record.secret_hash):
            raise Unauthenticated("The bearer token is not valid.")
        if record.revoked_at is not None:
            raise Unauthenticated("The token was revoked.")
        left = _seconds_left(record.expires_at)
        if left <= 0:
            raise Unauthenticated("The token expired.")
        grants = record.grants | await self._store.grants_of(record.name)
        return Principal(record.name, frozenset(grants), "token"), left

    async def _json_web_token(self, bearer: str) -> tuple[Principal, float]:
        verifier = self._jwt
        if verifier is None:
            raise Unauthenticated("The bearer token is not valid.")
        try:
            if verifier.jwks_client is not None:  # may fetch keys over the network
                claims = await asyncio.to_thread(verifier.claims, bearer)
            else:
                claims = verifier.claims(bearer)
        except BadToken as error:
            raise Unauthenticated(f"The bearer token is not valid: {error}") from None
        subject = str(claims["sub"])
        grants = _claimed_grants(claims.get(GRANTS_CLAIM))
        grants |= await self._store.grants_of(subject)
        left = float(claims["exp"]) - time.time()
        return Principal(subject, frozenset(grants), "jwt"), left


def bearer_of(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated(
            "Authentication required: send Authorization: Bearer <token>."
        )
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 8192:
        raise Unauthenticated("The Authorization header must be `Bearer <token>`.")
    return value


def _seconds_left(expires_at: str | None) -> float:
    if expires_at is None:
        return float("inf")
    end = datetime.fromisoformat(expires_at)
    return (end - datetime.now(UTC)).total_seconds()


def _claimed_grants(value: Any) -> set[Grant]:
    if not isinstance(value, list):
        return set()
    grants = set()
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("db"), str):
            try:
                grants.add(Grant(item["db"], Role.parse(str(item.get("role")))))
            except ValueError:
                continue  # an unknown role grants nothing
    return grants
