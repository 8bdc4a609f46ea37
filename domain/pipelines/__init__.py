"""Pipelines (SPEC §6, §6.1): typed DAGs of transforms from dataset versions to new ones."""
