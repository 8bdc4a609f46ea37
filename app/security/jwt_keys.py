"""JWT verification with PyJWT: HS256 with a shared secret, RS256/ES256 with
keys from a JWKS file or URL. Issuer, audience, expiry and not-before are
checked with a clock-skew allowance; any other algorithm is refused (so a token
signed with `none`, or HS256 with a public key as the secret, never passes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from app.settings import Settings

ASYMMETRIC = ("RS256", "ES256")


class BadToken(Exception):
    """The bearer value is not a valid token; the message says why."""


@dataclass(frozen=True, slots=True)
class JwtVerifier:
    settings: Settings
    jwks_file: jwt.PyJWKSet | None = None
    jwks_client: jwt.PyJWKClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> JwtVerifier | None:
        if not (settings.jwt_secret or settings.jwt_jwks_file or settings.jwt_jwks_url):
            return None
        keys = None
        if settings.jwt_jwks_file:
            data = json.loads(Path(settings.jwt_jwks_file).read_text())
            keys = jwt.PyJWKSet.from_dict(data)
        client = None
        if settings.jwt_jwks_url:
            client = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True)
        return cls(settings, keys, client)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`; raises BadToken."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise BadToken(f"malformed token: {error}") from error
        algorithm = str(header.get("alg"))
        key = self._key(algorithm, header.get("kid"))
        options = {"require": ["exp", "sub"]}
        settings = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                leeway=settings.jwt_leeway_seconds,
                options=options,  # type: ignore[arg-type]
            )
        except jwt.ExpiredSignatureError as error:
            raise BadToken("token expired") from error
        except jwt.PyJWTError as error:
            raise BadToken(f"invalid token: {error}") from error
        return claims

    def _key(self, algorithm: Any, kid: Any) -> Any:
        if algorithm == "HS256" and self.settings.jwt_secret:
            return self.settings.jwt_secret
        if algorithm not in ASYMMETRIC:
            raise BadToken(f"algorithm {algorithm!r} is not accepted")
        if self.jwks_file is not None:
            for key in self.jwks_file.keys:
                if kid is None or key.key_id == kid:
                    return key.key
        if self.jwks_client is not None:
            try:
                return self.jwks_client.get_signing_key(kid).key
            except jwt.PyJWTError as error:
                raise BadToken(f"no signing key: {error}") from error
        raise BadToken("no key to verify this token")
