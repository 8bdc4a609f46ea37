"""Governance of branches: protection rules, the write guard, and proposals."""
