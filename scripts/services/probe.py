"""Small stdlib-only helpers for scripts/services.sh.

Kept free of third-party imports so that it runs with any Python 3 on the machine,
before the project's virtualenv exists.

    probe.py free-port              print a TCP port on 127.0.0.1 that is free right now
    probe.py kafka-cluster-id       print a random KRaft cluster id
    probe.py kafka HOST:PORT        exit 0 if a Kafka broker answers ApiVersions
    probe.py http URL               exit 0 if URL answers 2xx
    probe.py opensearch URL         exit 0 if the cluster's health is yellow or green
    probe.py terminusdb URL         exit 0 if URL/api/info answers 2xx to the basic auth
                                    of URL's user:password (http://user:pass@host:port)
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid


def free_port() -> int:
    # Binding port 0 lets the kernel choose; the port is released on close and the
    # service binds it a moment later.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kafka_cluster_id() -> str:
    # What `kafka-storage random-uuid` prints, without starting a JVM for it. Like
    # Kafka's own generator, never an id that starts with "-": the storage tool's
    # argument parser would read it as an option and fail the format.
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def kafka_answers(address: str) -> bool:
    """Send an ApiVersions v0 request and check the broker answers with no error.

    A KRaft broker only opens its client listener once it has caught up with the
    controller's metadata, so an answer here means clients can produce.
    """
    host, _, port = address.rpartition(":")
    client_id = b"spice-services-probe"
    correlation_id = 7
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    with socket.create_connection((host, int(port)), timeout=3) as sock:
        sock.settimeout(3)
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        answer = _recv_exact(sock, size)
    got_id, error_code = struct.unpack(">ih", answer[:6])
    return bool(got_id == correlation_id and error_code == 0)


def http_answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback URL of ours)
        return bool(200 <= response.status < 300)


def opensearch_answers(url: str) -> bool:
    health = url.rstrip("/") + "/_cluster/health?wait_for_status=yellow&timeout=5s"
    with urllib.request.urlopen(health, timeout=10) as response:  # noqa: S310 (loopback URL of ours)
        status = json.load(response).get("status")
    return bool(status in ("yellow", "green"))


def terminusdb_answers(url: str) -> bool:
    # urllib ignores credentials inside a URL: send them as a header ourselves.
    parts = urllib.parse.urlsplit(url)
    plain = f"{parts.hostname}:{parts.port}"
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request = urllib.request.Request(
        f"http://{plain}/api/info", headers={"Authorization": f"Basic {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback URL of ours)
        return bool(200 <= response.status < 300)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    if command == "free-port":
        print(free_port())
        return 0
    if command == "kafka-cluster-id":
        print(kafka_cluster_id())
        return 0
    checks = {
        "kafka": kafka_answers,
        "http": http_answers,
        "opensearch": opensearch_answers,
        "terminusdb": terminusdb_answers,
    }
    if command not in checks or len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return 0 if checks[command](args[0]) else 1
    except (OSError, ValueError, urllib.error.URLError, struct.error):
        # Not up yet (refused, reset, timed out, half an answer): the caller polls again.
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
