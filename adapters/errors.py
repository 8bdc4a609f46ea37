"""Infrastructure errors: adapters translate driver exceptions into these."""

from __future__ import annotations


class StoreError(Exception):
    """A store or transport failed; `retriable` tells callers whether to retry."""

    retriable: bool = False


class StoreUnavailable(StoreError):
    """Refused connection, timeout, broker or server down. An outage, not a fault
    of the data at hand: consumers wait for the store instead of dead-lettering."""

    retriable = True
    outage = True


class StoreIntegrityError(StoreError):
    """A constraint the adapter did not expect to be violated."""


class StoreDataError(StoreError):
    """A stored payload cannot be decoded or has an unknown schema."""


class ConfigurationError(Exception):
    """A setting names an adapter or URL that cannot be used."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"setting {key}: {message}")
        self.key = key
