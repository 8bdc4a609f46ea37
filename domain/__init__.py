"""The pure model of SPICE: ontology, instances, events, commands and ports (stdlib only)."""
