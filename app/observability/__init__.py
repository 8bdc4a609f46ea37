"""Operations: tracing (OpenTelemetry) and structured logs, configured from settings."""
