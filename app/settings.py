"""Settings from SPICE_* environment variables, validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATABASE_SCHEMES = (
    "sqlite",
    "sqlite+aiosqlite",
    "postgresql",
    "postgres",
    "postgresql+asyncpg",
)
BUS_SCHEMES = ("memory", "kafka")
SEARCH_SCHEMES = ("sqlite", "http", "https", "opensearch", "elasticsearch")
GRAPH_SCHEMES = ("sql", "terminusdb")
BLOB_SCHEMES = ("file", "s3")


class Settings(BaseSettings):
    """Every default runs with nothing installed: SQLite files under ./var/."""

    model_config = SettingsConfigDict(
        env_prefix="SPICE_",
        env_nested_delimiter="__",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
    )

    environment: Literal["dev", "test", "prod"] = "dev"
    database_url: str = "sqlite+aiosqlite:///./var/spice.db"
    bus_url: str = "memory://"
    search_url: str = "sqlite:///./var/search.db"
    graph_url: str = "sql://"
    blob_url: str = "file://./var/blobs"
    # Optional: each committed command batch also written once to this blob store
    # (s3://bucket/prefix?endpoint_url=&region= or file://dir), referenced by the outbox.
    event_payloads_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    auto_migrate: bool = True
    consumer_batch_size: int = 500
    consumer_max_wait: float = 0.05
    # Consumers no read waits on (audit, catalog): at most one batch per this
    # many seconds, so under load they spend their round trips on more events
    # and leave the CPU to the stages commands wait for (graph, search).
    background_consumer_interval: float = 0.5
    retry_attempts: int = 5
    retry_base_delay: float = 0.05
    relay_poll_interval: float = 0.05
    # How often `spice worker scheduler` reads deployments, runs and dataset
    # versions to start due builds (seconds; a cron fires at most this late).
    scheduler_poll_interval: float = 10.0
    # A run still RUNNING this long after its start is taken for dead (its process
    # stopped): recorded FAILED, and its pipeline may build again. Keep it above
    # the longest build, or a slow build gets a concurrent second one.
    scheduler_abandon_after: float = 6 * 3600.0
    # How often a `wait:` re-reads the checkpoint of a stage whose consumer runs
    # in another process (`spice worker`), while anybody waits on it: one small
    # query per stage and database each time, and on average half of it added
    # to what the waiter sees of the projection lag.
    stage_poll_interval: float = 0.05
    # Reliability tests only: "point:count" makes a worker die like kill -9.
    crash_at: str | None = None
    # GraphQL protection (on by default, SPEC §4): checked before execution.
    graphql_default_page_size: int = 100
    graphql_max_page_size: int = 1000
    graphql_max_depth: int = 15
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    graphql_max_cost: int = 200_000
    graphql_max_batch: int = 10
    graphql_max_body_bytes: int = 1_048_576
    # Largest multipart upload (uploadDataset), spooled to a temporary file as
    # it arrives; over it the request is a 413 (SPICE_UPLOAD_MAX_BYTES).
    upload_max_bytes: int = Field(default=1 << 30, ge=1)
    # Who may introspect: every authenticated caller, admins only, or nobody
    # (true/false are read as all/none).
    graphql_introspection: Literal["all", "admins", "none"] = "all"
    # Filter and sort class lists in the graph store (off: always in memory).
    graphql_filter_pushdown: bool = True
    # Most search hits a `where: {search: …}` condition may use (more: an error).
    graphql_search_max_ids: int = Field(default=10_000, ge=1, le=100_000)
    # How stale a generated schema may be when another process changed the
    # ontology (changes made through this process are seen at once).
    graphql_schema_refresh_interval: float = 1.0

    # Security (SPEC §7). The bootstrap admin token: this value, else the
    # contents of admin_token_file (created, mode 0600, on the first start).
    admin_token: str | None = None
    admin_token_file: str = "./var/admin.token"  # noqa: S105 - a path
    # How long an authenticated token or JWT (and its grants) is remembered by
    # a process; a revocation made elsewhere takes effect within this time.
    auth_cache_seconds: float = Field(default=2.0, ge=0, le=300)
    # JWT: HS256 with jwt_secret, RS256/ES256 with a JWKS file or URL.
    jwt_secret: str | None = None
    jwt_jwks_file: str | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=600)
    # GET /metrics without a token (for a scraper on a private network).
    metrics_public: bool = False
    # Origins allowed to call the API from a browser (CORS); none by default.
    cors_origins: list[str] = Field(default_factory=list)
    # Rate limits per principal: query cost (the complexity estimate) per
    # minute, 0 for none; concurrent subscriptions per principal.
    rate_limit_cost_per_minute: int = Field(default=5_000_000, ge=0)
    max_subscriptions_per_principal: int = Field(default=100, ge=1)
    # Operations: log lines as JSON (or text), tracing exporter (off by default).
    log_format: Literal["json", "text"] = "text"
    log_level: str = "INFO"
    otel_exporter: Literal["none", "otlp", "console"] = "none"
    otel_endpoint: str | None = None
    otel_service_name: str = "spice"

    @field_validator("graphql_introspection", mode="before")
    @classmethod
    def _introspection_words(cls, value: object) -> object:
        words = {"true": "all", "1": "all", "false": "none", "0": "none"}
        if isinstance(value, bool):
            return "all" if value else "none"
        if isinstance(value, str):
            return words.get(value.lower(), value.lower())
        return value

    @field_validator("background_consumer_interval")
    @classmethod
    def _non_negative_interval(cls, value: float) -> float:
        if value < 0:
            raise ValueError(
                f"SPICE_BACKGROUND_CONSUMER_INTERVAL must be 0 or more seconds, not {value}"
            )
        return value

    @field_validator("stage_poll_interval")
    @classmethod
    def _positive_poll_interval(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(
                f"SPICE_STAGE_POLL_INTERVAL must be more than 0 seconds, not {value}"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        return _check_scheme("SPICE_DATABASE_URL", value, DATABASE_SCHEMES)

    @field_validator("bus_url")
    @classmethod
    def _bus_scheme(cls, value: str) -> str:
        return _check_scheme("SPICE_BUS_URL", value, BUS_SCHEMES)

    @field_validator("search_url")
    @classmethod
    def _search_scheme(cls, value: str) -> str:
        return _check_scheme("SPICE_SEARCH_URL", value, SEARCH_SCHEMES)

    @field_validator("graph_url")
    @classmethod
    def _graph_scheme(cls, value: str) -> str:
        return _check_scheme("SPICE_GRAPH_URL", value, GRAPH_SCHEMES)

    @field_validator("blob_url")
    @classmethod
    def _blob_scheme(cls, value: str) -> str:
        return _check_scheme("SPICE_BLOB_URL", value, BLOB_SCHEMES)

    @field_validator("event_payloads_url")
    @classmethod
    def _event_payloads_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _check_scheme("SPICE_EVENT_PAYLOADS_URL", value, BLOB_SCHEMES)

    @model_validator(mode="after")
    def _production_needs_durable_stores(self) -> Settings:
        if (
            self.environment == "prod"
            and self.database_url.startswith("sqlite")
            and ":memory:" in self.database_url
        ):
            raise ValueError(
                "SPICE_DATABASE_URL: an in-memory database loses data; not allowed in prod"
            )
        return self


def _check_scheme(key: str, value: str, allowed: tuple[str, ...]) -> str:
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in allowed:
        raise ValueError(
            f"{key}: unsupported URL {value!r}; expected a scheme in {', '.join(allowed)}"
        )
    return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
