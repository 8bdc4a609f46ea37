"""blob store package."""
