"""The per-database GraphQL schema, built at run time from an ontology version
(graphql-core types: one object type per class, its inputs, queries, mutations
and subscriptions). Hand-written code that builds types from data; nothing in
this package is produced by a code generator."""
