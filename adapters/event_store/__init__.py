"""event store package."""
