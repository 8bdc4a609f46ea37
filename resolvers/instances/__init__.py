"""Resolvers of the generated instance schema."""
