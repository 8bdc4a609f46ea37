"""message bus package."""
