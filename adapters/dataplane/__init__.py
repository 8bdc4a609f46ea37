"""Data plane adapters: file readers, Parquet, profiling."""
