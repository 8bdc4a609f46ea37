"""search index package."""
