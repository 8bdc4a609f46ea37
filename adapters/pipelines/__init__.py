"""Pipeline engines: expressions (sqlglot), the embedded DuckDB engine."""
