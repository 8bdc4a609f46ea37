"""The bootstrap admin token (SPEC §7.1): SPICE_ADMIN_TOKEN, else the file
`var/admin.token`, created with mode 0600 on the first start."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from app.settings import Settings

log = logging.getLogger(__name__)
MIN_LENGTH = 16


def admin_secret(settings: Settings) -> str:
    if settings.admin_token:
        if len(settings.admin_token) < MIN_LENGTH:
            raise ValueError(
                f"SPICE_ADMIN_TOKEN must be at least {MIN_LENGTH} characters"
            )
        return settings.admin_token
    path = Path(settings.admin_token_file)
    if path.exists():
        secret = path.read_text().strip()
        if len(secret) < MIN_LENGTH:
            raise ValueError(
                f"{path}: the admin token must be at least {MIN_LENGTH} characters"
            )
        return secret
    return _create(path)


def _create(path: Path) -> str:
    secret = "spice_admin_" + secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once never overwrite each other's token.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    log.warning("created the admin token in %s (mode 0600)", path.resolve())
    print(f"SPICE admin token written to {path.resolve()} (mode 0600)", flush=True)  # noqa: T201
    return secret
