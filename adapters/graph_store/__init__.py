"""graph store package."""
