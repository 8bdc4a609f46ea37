"""GraphQL read throughput over HTTP, and the generated schema's build time.

Starts `spice serve` in a subprocess on the embedded default (SQLite files in a
temporary directory), fills it through bulk mutations (Country 10, Customer 1,000,
Product the rest, 10 properties each), and drives it from a second process with a
lean keep-alive load client (--concurrency requests in flight). For each query it prints
requests/s and p50/p99 latency, each the median of --runs runs, and the ratio of
requests/s to a baseline measured in the same run against the same server: the
trivial `{ __typename }` on the same endpoint (HTTP, routing, context and
GraphQL overhead with no store read).

Queries: (a) one Product by id; (b) a page of 50 Products with 10 fields; (c) a
3-hop traversal countries(10) -> customers(10 each) -> products(10 each), 1,110
nodes. Then the build time of a generated schema for 200 classes x 15 properties.

The load process uses bench/load.py, a keep-alive HTTP/1.1 client that costs a
few tens of microseconds per request, so the figures are the server's.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

from bench import load
from bench.common import median_of, percentile

COUNTRIES, CUSTOMERS, BULK = 10, 1000, 1000
RESULT = "__typename ... on CommandReceipt { seq } ... on ValidationError { errors { message } }"
PRODUCT_FIELDS = "productId name price qty color size weight active sku note"


def _classes() -> list[dict[str, Any]]:
    def rel(predicate: str, target: str, inverse: str) -> dict[str, Any]:
        return {"predicate": predicate, "target": target, "cardinality": "MANY_TO_ONE",
                "inverse": {"predicate": inverse}}  # fmt: skip

    def props(key: str, *more: tuple[str, str]) -> list[dict[str, Any]]:
        return [
            {"name": key, "type": "string"},
            *({"name": n, "type": t} for n, t in more),
        ]

    product = props("product_id", ("name", "string"), ("price", "decimal"),
                    ("qty", "integer"), ("color", "string"), ("size", "string"),
                    ("weight", "float"), ("active", "boolean"), ("sku", "string"),
                    ("note", "text"))  # fmt: skip
    return [
        {"id": "Country", "label": "Country", "primaryKey": "code", "properties": props("code")},
        {"id": "Customer", "label": "Customer", "primaryKey": "customer_id",
         "properties": props("customer_id", ("name", "string")),
         "relationships": [rel("country", "Country", "customers")]},
        {"id": "Product", "label": "Product", "primaryKey": "product_id",
         "properties": product, "relationships": [rel("owned_by", "Customer", "products")]},
    ]  # fmt: skip


def _product(i: int) -> dict[str, Any]:
    return {"productId": f"p{i}", "name": f"product {i}", "price": f"{i % 500}.99",
            "qty": i % 70, "color": ("red", "green", "blue")[i % 3], "size": "M",
            "weight": i / 7, "active": i % 2 == 0, "sku": f"SKU-{i:07}",
            "note": "a product used by the GraphQL benchmark",
            "ownedBy": f"c{i % CUSTOMERS}"}  # fmt: skip


def _post(http: httpx.Client, path: str, query: str, **variables: Any) -> Any:
    body = http.post(path, json={"query": query, "variables": variables}).json()
    if body.get("errors"):
        raise SystemExit(f"benchmark request failed: {body['errors']}")
    return body["data"]


def _fill(http: httpx.Client, products: int) -> float:
    started = time.perf_counter()
    _post(
        http,
        "/graphql",
        f'mutation {{ createDatabase(name: "bench", wait: APPLIED) {{ {RESULT} }} }}',
    )
    for definition in _classes():
        _post(http, "/graphql", f'mutation($i: ClassInput!) {{ defineClass(db: "bench", input: $i, wait: APPLIED) {{ {RESULT} }} }}', i=definition)  # fmt: skip
    batches = [
        ("createCountries", "Country", [{"code": f"k{i}"} for i in range(COUNTRIES)]),
        ("createCustomers", "Customer", [{"customerId": f"c{i}", "name": f"customer {i}",
                                          "country": f"k{i % COUNTRIES}"} for i in range(CUSTOMERS)]),
    ]  # fmt: skip
    for start in range(0, products, BULK):
        items = [_product(i) for i in range(start, min(products, start + BULK))]
        batches.append(("createProducts", "Product", items))
    for n, (mutation, kind, items) in enumerate(batches):
        query = f"mutation($i: [{kind}Input!]!, $c: ID) {{ {mutation}(inputs: $i, commandId: $c) {{ {RESULT} }} }}"
        last = f"fill-{n}"
        result = _post(http, "/graphql/bench", query, i=items, c=last)[mutation]
        if result["__typename"] != "CommandReceipt":
            raise SystemExit(f"fill failed: {result}")
    # Measure an idle server: wait until graph and search have projected everything.
    status = "query($c: ID!) { command(id: $c) { status } }"
    while _post(http, "/graphql", status, c=last)["command"]["status"] != "COMPLETED":
        time.sleep(0.5)
    return time.perf_counter() - started


def _load(url: str, bodies: list[dict[str, Any]], concurrency: int, headers: dict[str, str]) -> list[float]:  # fmt: skip
    """Runs in the load process: every body once, `concurrency` in flight, over
    bench.load's lean keep-alive client."""
    host, port = url.removeprefix("http://").split(":")
    requests = [load.encode_post(host, "/graphql/bench", b, headers) for b in bodies]
    return load.run_blocking(host, int(port), requests, concurrency)


def _scenarios(products: int, requests: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(7)
    by_id = f"query($id: ID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}"
    page = f"query($after: String) {{ products(first: 50, after: $after) {{ nodes {{ {PRODUCT_FIELDS} }} }} }}"
    hops = ("{ countries(first: 10) { nodes { code customers(first: 10) { nodes { customerId "
            "products(first: 10) { nodes { productId name price } } } } } } }")  # fmt: skip
    return {
        "{ __typename } baseline": [{"query": "{ __typename }"}] * requests,
        "(a) product by id": [
            {"query": by_id, "variables": {"id": f"p{rng.randrange(products)}"}}
            for _ in range(requests)
        ],
        "(b) page of 50 x 10 fields": [{"query": page}] * (requests // 4),
        "(c) 3 hops, 1,110 nodes": [{"query": hops}] * (requests // 20),
    }


def _measure(pool: ProcessPoolExecutor, url: str, bodies: list[dict[str, Any]], concurrency: int, headers: dict[str, str]) -> tuple[float, float, float]:  # fmt: skip
    pool.submit(_load, url, bodies[:20], concurrency, headers).result()  # warm-up
    started = time.perf_counter()
    latencies = pool.submit(_load, url, bodies, concurrency, headers).result()
    elapsed = time.perf_counter() - started
    return (
        len(bodies) / elapsed,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
    )


def _schema_build_seconds(runs: int) -> float:
    from app.graphql.wiring import INSTANCE_RESOLVERS
    from domain.ontology import Ontology, class_from_dict
    from schema.ontology.builder import build_generated_schema

    definitions = [
        {"id": f"C{c:03}", "label": f"C{c:03}", "primary_key": "p00",
         "properties": [{"name": f"p{p:02}", "type": ("string", "integer", "decimal")[p % 3]} for p in range(15)],
         "relationships": [{"predicate": "next", "target": f"C{(c + 1) % 200:03}", "cardinality": "n:1",
                            "inverse": {"predicate": f"prev_{c:03}"}}]}
        for c in range(200)
    ]  # fmt: skip
    classes = [class_from_dict(d) for d in definitions]
    ontology = Ontology({c.id: c for c in classes})
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        build_generated_schema(
            ontology,
            resolvers=INSTANCE_RESOLVERS,
            db="bench",
            branch="main",
            version=1,
        )
        times.append(time.perf_counter() - started)
    return median_of(times)


def _serve(tmp: Path, token: str) -> tuple[subprocess.Popen[bytes], str]:
    """`spice serve` with `token` as its bootstrap admin token (SPICE_ADMIN_TOKEN)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SPICE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'spice.db'}",
           "SPICE_SEARCH_URL": f"sqlite:///{tmp / 'search.db'}", "SPICE_BLOB_URL": f"file://{tmp / 'blobs'}",
           "SPICE_ENVIRONMENT": "prod", "SPICE_ADMIN_TOKEN": token}  # fmt: skip
    log = (tmp / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/ready").status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"spice serve did not start; see {tmp / 'server.log'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    products = args.instances - COUNTRIES - CUSTOMERS
    token = "bench-admin-" + secrets.token_urlsafe(24)
    headers = {"Authorization": f"Bearer {token}"}
    with tempfile.TemporaryDirectory() as directory:
        server, url = _serve(Path(directory), token)
        try:
            with httpx.Client(base_url=url, timeout=600, headers=headers) as http:
                seconds = _fill(http, products)
            print(f"graph: {args.instances} instances (10 countries, 1,000 customers, "
                  f"{products} products) filled in {seconds:.1f}s over HTTP bulk mutations")  # fmt: skip
            _report(url, headers, _scenarios(products, args.requests), args)
        finally:
            server.terminate()
            server.wait(timeout=30)
    build = _schema_build_seconds(args.runs)
    print(f"schema build, 200 classes x 15 properties: {build * 1000:.0f} ms (median of {args.runs})")  # fmt: skip


def _report(url: str, headers: dict[str, str], scenarios: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:  # fmt: skip
    """Each scenario with one client (latency: the server's time per request)
    and with --concurrency clients (throughput on both cores)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        for concurrency in sorted({1, args.concurrency}):
            print(f"GraphQL over HTTP, {concurrency} in flight, median of {args.runs} runs")  # fmt: skip
            baseline = 0.0
            for label, bodies in scenarios.items():
                runs = [_measure(pool, url, bodies, concurrency, headers) for _ in range(args.runs)]  # fmt: skip
                rps, p50, p99 = (median_of([r[i] for r in runs]) for i in range(3))
                baseline = baseline or rps
                print(f"  {label:28s} {rps:8.0f} req/s   p50 {p50 * 1000:7.1f} ms   "
                      f"p99 {p99 * 1000:7.1f} ms   ratio to baseline {rps / baseline:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
