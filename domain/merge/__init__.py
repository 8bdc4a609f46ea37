"""Branches that come back: diff against the merge base, three-way merge, merge records."""
