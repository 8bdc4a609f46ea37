"""GET /metrics: Prometheus text with GraphQL traffic, latency and projection lag."""

from __future__ import annotations

import re

from tests.graphql.client import RESULT, GraphQL, eventually


def _value(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = (
        rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$"
        if labels
        else rf"^{re.escape(name)} (\S+)$"
    )
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else None


async def test_metrics_count_requests_and_report_projection_lag(shop: GraphQL) -> None:
    before = (await shop.http.get("/metrics")).text
    start = (
        _value(
            before, "spice_graphql_requests_total", endpoint="generated", status="2xx"
        )
        or 0
    )
    for _ in range(3):
        await shop.data("{ _schema { db } }", "/graphql/shop")
    rejected = await shop.http.post(
        "/graphql/shop",
        json={"query": "{ nope }"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert rejected.status_code == 400
    await shop.data(
        f'mutation {{ createCustomer(input: {{customerId: "c1"}}, wait: APPLIED) {{ {RESULT} }} }}',
        "/graphql/shop",
    )

    async def scrape() -> str:
        response = await shop.http.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return response.text

    text = await eventually(
        scrape,
        lambda t: (
            _value(t, "spice_projection_lag_events", consumer="search", db="shop") == 0
        ),
    )
    ok = _value(
        text, "spice_graphql_requests_total", endpoint="generated", status="2xx"
    )
    assert ok == start + 4  # three reads and the mutation; the scrapes are not GraphQL
    assert (
        _value(text, "spice_graphql_requests_total", endpoint="generated", status="4xx")
        == 1
    )
    assert (
        _value(text, "spice_graphql_request_seconds_count", endpoint="generated") or 0
    ) >= 5
    assert _value(text, "spice_projection_lag_events", consumer="graph", db="shop") == 0
    await shop.data('{ customer(id: "c1") { id } }', "/graphql/shop")
    after_read = await scrape()
    assert (_value(after_read, "spice_graph_store_calls") or 0) >= 1
