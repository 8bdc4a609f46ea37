"""SQLAlchemy Core metadata: event store, consumer tracking, command status and views."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.naming import conv

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Positions are per database; BigInteger renders as INTEGER on SQLite.
Position = BigInteger().with_variant(Integer(), "sqlite")

# --- event store -----------------------------------------------------------

events = Table(
    "events",
    metadata,
    Column("db", String(64), nullable=False),
    Column("position", Position, nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("branch", String(100), nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", String(400), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("command_id", String(200), nullable=False),
    Column("correlation_id", String(200), nullable=False),
    Column("causation_id", String(200)),
    Column("ontology_version", Position, nullable=False),
    Column("data", JSON, nullable=False),
    # Request id and W3C trace context of the command (NULL before 2026-12-09).
    Column("metadata", JSON),
    PrimaryKeyConstraint("db", "position"),
    # The unique stream key is the optimistic lock: a racing append violates it.
    UniqueConstraint(
        "db",
        "branch",
        "aggregate_type",
        "aggregate_id",
        "seq",
        name="uq_events_stream_seq",
    ),
    Index("ix_events_type", "db", "branch", "aggregate_type", "position"),
    Index("ix_events_registry", "db", "aggregate_type", "position"),
)

positions = Table(
    "positions",
    metadata,
    Column("db", String(64), primary_key=True),
    Column("last_position", Position, nullable=False),
)

commands = Table(
    "commands",
    metadata,
    Column("command_id", String(200), primary_key=True),
    Column("db", String(64), nullable=False),
    Column("branch", String(100), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", String(400), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("first_position", Position, nullable=False),
    Column("last_position", Position, nullable=False),
    Column("heads", JSON, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Index("ix_commands_db_last", "db", "last_position"),
    # asOfTime: the last position recorded at or before an instant, one lookup.
    Index("ix_commands_db_recorded", "db", "recorded_at", "last_position"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("db", String(64), nullable=False),
    Column("first_position", Position, nullable=False),
    Column("last_position", Position, nullable=False),
    Column("command_id", String(200), nullable=False),
    # First position of the append transaction that committed this row: rows
    # committed together share it, and the payload archive writes them as one object.
    Column("commit_first", Position, nullable=False),
    Column("payload_ref", String(500)),
    PrimaryKeyConstraint("db", "first_position"),
    Index("ix_outbox_commit", "db", "commit_first"),
)

# Unique keys held per branch (domain.claims), written in the append transaction.
# Rows are history, never updated: a key's state on a branch is its row with
# the highest seq visible through the lineage (holder NULL: freed). Seqs
# continue across forks like stream seqs, so the primary key is the lock: two
# writers taking one key on one branch from the same state collide on it.
unique_claims = Table(
    "unique_claims",
    metadata,
    Column("db", String(64), nullable=False),
    Column("scope", String(250), nullable=False),
    Column("key", String(200), nullable=False),
    Column("branch", String(100), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("position", Position, nullable=False),
    Column("holder", String(400)),
    PrimaryKeyConstraint("db", "scope", "key", "branch", "seq"),
)

relay_checkpoints = Table(
    "relay_checkpoints",
    metadata,
    Column("relay", String(100), nullable=False),
    Column("db", String(64), nullable=False),
    Column("position", Position, nullable=False),
    PrimaryKeyConstraint("relay", "db"),
)

# --- command status (write side records ACCEPTED; consumers record the rest) ---

command_rejections = Table(
    "command_rejections",
    metadata,
    Column("command_id", String(200), primary_key=True),
    Column("db", String(64), nullable=False),
    Column("branch", String(100), nullable=False),
    Column("aggregate_id", String(400), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("error", JSON, nullable=False),
    Column("rejected_at", String(40), nullable=False),
)

command_stages = Table(
    "command_stages",
    metadata,
    Column("command_id", String(200), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("at", String(40), nullable=False),
    PrimaryKeyConstraint("command_id", "stage"),
)

# --- consumer tracking ------------------------------------------------------

processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("db", String(64), nullable=False),
    Column("position", Position, nullable=False),
    PrimaryKeyConstraint("consumer", "event_id"),
    Index("ix_processed_position", "consumer", "db", "position"),
)

aggregate_versions = Table(
    "aggregate_versions",
    metadata,
    Column("consumer", String(100), nullable=False),
    Column("db", String(64), nullable=False),
    Column("branch", String(100), nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", String(400), nullable=False),
    Column("seq", Integer, nullable=False),
    PrimaryKeyConstraint("consumer", "db", "branch", "aggregate_type", "aggregate_id"),
)

parked_events = Table(
    "parked_events",
    metadata,
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("db", String(64), nullable=False),
    Column("branch", String(100), nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", String(400), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("envelope", JSON, nullable=False),
    PrimaryKeyConstraint("consumer", "event_id"),
    Index(
        "ix_parked_stream", "consumer", "db", "branch", "aggregate_type", "aggregate_id"
    ),
)

consumer_checkpoints = Table(
    "consumer_checkpoints",
    metadata,
    Column("consumer", String(100), nullable=False),
    Column("db", String(64), nullable=False),
    Column("position", Position, nullable=False),
    PrimaryKeyConstraint("consumer", "db"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("db", String(64), nullable=False),
    Column("position", Position, nullable=False),
    Column("command_id", String(200), nullable=False),
    Column("envelope", JSON, nullable=False),
    Column("error_type", String(200), nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", String(40), nullable=False),
    UniqueConstraint("consumer", "event_id", name="uq_dead_letters_consumer_event"),
)

# --- read models ---------------------------------------------------------------

catalog_databases = Table(
    "catalog_databases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("description", Text),
    Column("seq", Integer, nullable=False),
    Column("position", Position, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
)

catalog_branches = Table(
    "catalog_branches",
    metadata,
    Column("db", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("parent", String(100)),
    Column("fork_position", Position),
    Column("seq", Integer, nullable=False),
    Column("position", Position, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("created_at", String(40), nullable=False),
    PrimaryKeyConstraint("db", "name"),
)

catalog_classes = Table(
    "catalog_classes",
    metadata,
    Column("db", String(64), nullable=False),
    Column("branch", String(100), nullable=False),
    Column("class_id", String(100), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("position", Position, nullable=False),
    Column("definition", JSON, nullable=False),
    # One row per class version, read through the branch lineage like graph nodes.
    PrimaryKeyConstraint("db", "class_id", "branch", "seq"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("db", String(64), nullable=False),
    Column("position", Position, nullable=False),
    Column("branch", String(100), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", String(400), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("command_id", String(200), nullable=False),
    Column("occurred_at", String(40), nullable=False),
    PrimaryKeyConstraint("db", "position"),
    Index("ix_audit_actor", "actor", "occurred_at"),
)


# --- security (SPEC §7): tokens, grants, access policies ---------------------
# Written by admin commands of the system schema; every change is also an
# entry of the audit chain.

security_tokens = Table(
    "security_tokens",
    metadata,
    Column("token_id", String(40), nullable=False),
    Column("name", String(200), nullable=False),  # the principal it authenticates
    # sha256 of the secret: secrets are 256 random bits, so a slow hash adds nothing.
    Column("secret_hash", String(64), nullable=False),
    Column("grants", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40)),
    Column("revoked_at", String(40)),
    PrimaryKeyConstraint("token_id"),
)

security_grants = Table(
    "security_grants",
    metadata,
    Column("principal", String(200), nullable=False),
    Column("db", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("granted_by", String(200), nullable=False),
    Column("granted_at", String(40), nullable=False),
    PrimaryKeyConstraint("principal", "db"),
)

access_policies = Table(
    "access_policies",
    metadata,
    Column("db", String(64), nullable=False),
    Column("class_id", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("row_filter", JSON),
    Column("mask_fields", JSON, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", String(40), nullable=False),
    PrimaryKeyConstraint("db", "class_id", "role"),
)


# Tables a projection owns: rebuilt into shadows and swapped (app/rebuild.py).
def shadow_of(table: Table, meta: MetaData, suffix: str = "_shadow") -> Table:
    """A copy of a table under another name, with its constraints and indexes
    renamed too (PostgreSQL and SQLite need index names unique per schema)."""
    copy = table.to_metadata(meta, name=table.name + suffix)
    for index in copy.indexes:
        index.name = conv(f"{index.name}{suffix}")
    for constraint in copy.constraints:
        if isinstance(constraint.name, str) and constraint.name:
            constraint.name = conv(f"{constraint.name}{suffix}")
    return copy


def graph_nodes_table(meta: MetaData, name: str = "graph_nodes") -> Table:
    """Node versions; a shadow copy for rebuilds uses another name."""
    return Table(
        name,
        meta,
        Column("db", String(64), nullable=False),
        Column("branch", String(100), nullable=False),
        Column("class_id", String(100), nullable=False),
        Column("instance_id", String(255), nullable=False),
        Column("seq", Integer, nullable=False),
        Column("position", Position, nullable=False),
        Column("deleted", Boolean, nullable=False),
        Column("vals", JSON, nullable=False),
        Column("links", JSON, nullable=False),
        Column("created_at", String(40)),
        Column("updated_at", String(40)),
        PrimaryKeyConstraint("db", "class_id", "instance_id", "branch", "seq"),
        Index(f"ix_{name}_list", "db", "class_id", "branch", "instance_id"),
    )


def graph_edges_table(meta: MetaData, name: str = "graph_edges") -> Table:
    """Links of each node version, for reverse lookups (who links to X)."""
    return Table(
        name,
        meta,
        Column("db", String(64), nullable=False),
        Column("branch", String(100), nullable=False),
        Column("src_class", String(100), nullable=False),
        Column("src_id", String(255), nullable=False),
        Column("src_seq", Integer, nullable=False),
        Column("predicate", String(100), nullable=False),
        Column("dst_id", String(255), nullable=False),
        Column("position", Position, nullable=False),
        PrimaryKeyConstraint(
            "db", "src_class", "src_id", "branch", "src_seq", "predicate", "dst_id"
        ),
        # Sources of a target in id order: a page of a reverse link reads its rows.
        Index(f"ix_{name}_dst_src", "db", "predicate", "dst_id", "src_id"),
    )


graph_nodes = graph_nodes_table(metadata)
graph_edges = graph_edges_table(metadata)


# --- audit trail -------------------------------------------------------------

# Hash-chained per database (projections/audit.py); appended to, never rebuilt.
audit_chain = Table(
    "audit_chain",
    metadata,
    Column("db", String(64), nullable=False),
    Column("seq", Position, nullable=False),
    Column("at", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("action", Text, nullable=False),
    Column("principal", String(200), nullable=False),
    Column("request_id", Text, nullable=False),
    Column("detail", JSON, nullable=False),
    # Unique per (db, kind) when set (a command's id): redelivery appends nothing.
    Column("ref", String(200)),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("db", "seq"),
    UniqueConstraint("db", "kind", "ref"),
)
