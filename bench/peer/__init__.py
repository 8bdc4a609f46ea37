"""SPICE compared with PostGraphile v4 on the same data (`python -m bench.peer`)."""
