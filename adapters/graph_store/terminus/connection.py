"""Blocking calls to one TerminusDB server through the official client.

`terminusdb.Client` keeps the database and branch it talks to as state and
holds one `requests` session, so it is neither shared between threads nor
switched between branches: the connection keeps a small pool of clients per
(database, branch), each used by one thread at a time. Every call translates
driver errors (errors.py) and is meant to run under `asyncio.to_thread`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter
from terminusdb import Client
from terminusdb_client.woql_utils import _finish_response

from adapters.errors import StoreError
from adapters.graph_store.terminus.config import TerminusConfig
from adapters.graph_store.terminus.documents import NODE, SCHEMA
from adapters.graph_store.terminus.errors import translated
from adapters.graph_store.terminus.names import owned_by
from adapters.graph_store.terminus.scalars import SCALAR

MAIN = "main"
_ADMIN = ("", "")  # the pool key of the client that talks to the server itself
_AUTHOR = "spice graph projection"


class TerminusConnection:
    def __init__(self, config: TerminusConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str], list[Any]] = {}
        self._branches: dict[str, set[str]] = {}  # known to exist, per database
        self._ready: set[tuple[str, str]] = set()  # (database, branch) with schema

    def close(self) -> None:
        with self._lock:
            clients = [c for pool in self._idle.values() for c in pool]
            self._idle.clear()
        for client in clients:
            client.close()
            session = getattr(client, "_session", None)
            if isinstance(session, requests.Session):
                session.close()

    # --- reads --------------------------------------------------------------

    def query(self, database: str, branch: str, woql: dict[str, Any]) -> list[Any]:
        """The result rows (bindings) of a read-only WOQL query."""
        with self._client(database, branch) as client, translated("query"):
            result = _query_utf8(client, woql)
        return list(result.get("bindings", [])) if isinstance(result, dict) else []

    def documents(
        self, database: str, branch: str, *, skip: int, count: int
    ) -> list[dict[str, Any]]:
        """A page of the branch's NodeVersion documents, in the server's order."""
        with self._client(database, branch) as client, translated("read documents"):
            return list(
                client.get_all_documents(
                    doc_type=NODE, skip=skip, count=count, as_list=True
                )
            )

    def databases(self) -> list[str]:
        """The TerminusDB databases of this deployment (its prefix)."""
        with self._client(*_ADMIN) as client, translated("list databases"):
            names = client.list_databases()
        return sorted(n for n in names if owned_by(self.config.prefix, n))

    def has_branch(self, database: str, branch: str) -> bool:
        if branch in self._known(database):
            return True
        return branch in self._known(database, refresh=True)

    def branches(self, database: str) -> set[str]:
        return set(self._known(database, refresh=True))

    # --- writes -------------------------------------------------------------

    def insert(
        self, database: str, branch: str, documents: list[dict[str, Any]]
    ) -> None:
        """Inserts the documents in one commit; DocumentExistsError if any is stored."""
        with self._client(database, branch) as client, translated("insert"):
            _insert_utf8(client, documents)

    def ensure_branch(self, database: str, branch: str) -> None:
        """Creates the database and the branch, with the graph schema, if missing.
        A branch other than main starts empty: SPICE's overlay is computed on read
        (overlay.py), so a TerminusDB branch holds only its own writes."""
        if (database, branch) in self._ready:
            return
        known = self._known(database, refresh=True)
        if not known:  # no such database yet
            self._create_database(database)
            known = self._known(database, refresh=True)
        if branch not in known:
            self._create_branch(database, branch)
        # Checked once per process, so a database whose schema push was cut off
        # (a crash between the two requests) gets it now.
        self._ensure_schema(database, branch)
        with self._lock:
            self._ready.add((database, branch))

    def _create_database(self, database: str) -> None:
        # Another process may create it at the same time: check, do not fail.
        with (
            self._client(database, MAIN) as client,
            _unless_exists(lambda: self._database_exists(database)),
        ):
            client.create_database(
                database,
                team=self.config.team,
                label=database,
                description="SPICE graph store: node versions and their edges",
            )
        self._ensure_schema(database, MAIN)

    def _create_branch(self, database: str, branch: str) -> None:
        with (
            self._client(database, MAIN) as client,
            _unless_exists(lambda: branch in self._known(database, refresh=True)),
        ):
            client.create_branch(branch, empty=True)

    def _ensure_schema(self, database: str, branch: str) -> None:
        # Pushing a schema makes the server re-check every stored document, so it
        # is pushed only where it is missing (or older: without Scalar, which
        # documents.py's required `layout` then refuses over old documents).
        with self._client(database, branch) as client, translated("read schema"):
            present = SCALAR in client.get_existing_classes()
        if present:
            return
        with (
            self._client(database, branch) as client,
            translated(
                "write schema (a graph of an older layout is refused: rebuild it)"
            ),
        ):
            client.insert_document(
                SCHEMA, graph_type="schema", full_replace=True, commit_msg=_AUTHOR
            )

    def _database_exists(self, database: str) -> bool:
        with self._client(*_ADMIN) as admin, translated("find database"):
            return bool(admin.has_database(database, team=self.config.team))

    def _known(self, database: str, *, refresh: bool = False) -> set[str]:
        with self._lock:
            cached = self._branches.get(database)
        if cached is not None and not refresh:
            return cached
        found = self._list_branches(database)
        with self._lock:
            self._branches[database] = found
        return found

    def _list_branches(self, database: str) -> set[str]:
        if not self._database_exists(database):
            return set()
        with self._client(database, MAIN) as client, translated("list branches"):
            return {b["name"] for b in client.get_all_branches() if "name" in b}

    # --- clients ------------------------------------------------------------

    @contextmanager
    def _client(self, database: str, branch: str) -> Iterator[Any]:
        key = (database, branch)
        with self._lock:
            pool = self._idle.setdefault(key, [])
            client = pool.pop() if pool else None
        if client is None:
            client = self._connect(database, branch)
        yield client  # an exception drops the client: its session may be broken
        with self._lock:
            self._idle[key].append(client)

    def _connect(self, database: str, branch: str) -> Any:
        config = self.config
        with translated("connect"):
            # `connect` reads the server's info without a timeout: probe first so
            # a server that accepts but never answers fails within the timeout.
            requests.get(f"{config.server_url}/api/ok", timeout=config.timeout)
            client = Client(config.server_url)
            client.connect(team=config.team, user=config.user, key=config.key)
        _apply_timeout(client, config.timeout)
        if database:
            client.db = database
            client.branch = branch
        return client


# The client's `query` and `insert_document`, with the body sent as UTF-8: the
# client escapes characters beyond the Basic Multilingual Plane (emoji, CJK
# extensions) as JSON surrogate pairs, which this server does not join again
# (a Rust panic, the whole request failed). Same URLs, parameters and auth.


def _query_utf8(client: Any, woql: Any) -> Any:
    query = woql.to_dict() if hasattr(woql, "to_dict") else woql
    body = {
        "commit_info": client._generate_commit(None),
        "query": query,
        "streaming": False,
    }
    return orjson.loads(_post_utf8(client, client._query_url(), {}, body))


def _insert_utf8(client: Any, documents: list[dict[str, Any]]) -> None:
    params = {
        **client._generate_commit(_AUTHOR),
        "graph_type": "instance",
        "full_replace": "false",
        "raw_json": "false",
    }
    _post_utf8(client, client._documents_url(), params, documents)


def _post_utf8(client: Any, url: str, params: dict[str, str], body: Any) -> str:
    headers = {**client._default_headers, "Content-Type": "application/json"}
    response = client._session.post(
        url,
        headers=headers,
        params=params,
        data=orjson.dumps(body),  # UTF-8; escapes only what JSON must
        auth=client._auth(),
    )
    return str(_finish_response(response))


@contextmanager
def _unless_exists(exists: Callable[[], bool]) -> Iterator[None]:
    """Translated errors, except a failure to create what now exists anyway."""
    try:
        with translated("create"):
            yield
    except StoreError:
        if not exists():
            raise


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, *args, **kwargs)


def _apply_timeout(client: Any, timeout: float) -> None:
    """The client passes no timeout to `requests`; give its session a default."""
    session = getattr(client, "_session", None)
    if isinstance(session, requests.Session):
        session.mount("http://", _TimeoutAdapter(timeout))
        session.mount("https://", _TimeoutAdapter(timeout))
