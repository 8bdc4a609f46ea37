"""The generated per-database schema: one GraphQL type per ontology class."""
