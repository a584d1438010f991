"""What the connector tests share: request bodies, waiting for operations, listening to the
connector's live stream and to its webhook."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

ARETI_EIC = "10XIT-ARETI----C"
BSP1_EIC = "10XIT-BSP-ALFA-U"
BSP2_EIC = "10XIT-BSP-BETA-3"
PDF = b"%PDF-1.7\n% single-line diagram of the site\n"
WAIT = {"Prefer": "wait=30"}


def new_pod_code() -> str:
    return f"IT002E{uuid.uuid4().int % 10**8:08d}"


def pod_body(code: str, **extra: Any) -> dict[str, Any]:
    return {
        "meteringPointId": code,
        "resourceName": "Parking Ostiense",
        "direction": "consumption",
        "contractedPower": 200.0,
        "maximumFlexUp": 120.0,
        "maximumFlexDown": 100.0,
        "gridVoltageLevel": "MV",
        "distributionGridOperatorName": ARETI_EIC,
        "startDateTime": "2026-03-01T00:00:00Z",
        **extra,
    }


def charger(code: str, n: int) -> dict[str, Any]:
    return {
        "resourceId": f"{code}-EVSE-{n}",
        "deviceType": "EVSE",
        "resourceName": f"Charger {n}",
        "direction": "consumption",
        "contractedPower": 22.0,
        "maximumFlexUp": 22.0,
        "maximumFlexDown": 22.0,
        "startDateTime": "2026-03-01T00:00:00Z",
    }


def diagram(content: bytes = PDF) -> dict[str, Any]:
    return {
        "externalDocumentId": "single-line-diagram.pdf",
        "documentType": "SingleLineDiagram",
        "documentFile": base64.b64encode(content).decode(),
    }


def uvam_body(**extra: Any) -> dict[str, Any]:
    return {
        "technicalFlexibilityServiceProviderId": "10YIT-GRTN-----B",
        "name": "Rome EV aggregate",
        "perimeter": "Centro-Sud",
        "maximumQualifiedPower": 200.0,
        "minimumQualifiedPower": 150.0,
        "marketType": "MSD",
        "period": "2026",
        "startDateTime": "2026-04-01T00:00:00Z",
        **extra,
    }


def connection_body() -> dict[str, Any]:
    return {
        "externalDocumentId": "connection.xml",
        "type": "IEC-104",
        "manufacturer": "ABB",
        "ipAddress": "10.20.30.40",
        "fullScaleMin": -250.0,
        "fullScaleMax": 250.0,
    }


def final(client: httpx.Client, op: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    """Follow an operation with GET /operations/{id} until it is committed or failed."""
    deadline = time.monotonic() + timeout
    seen = [op["status"]]
    while op["status"] not in ("committed", "failed"):
        if time.monotonic() > deadline:
            raise AssertionError(f"operation {op['id']} still {op['status']} after {timeout} s")
        time.sleep(0.05)
        reply = client.get(f"/operations/{op['id']}")
        assert reply.status_code == 200, reply.text
        op = reply.json()
        if op["status"] != seen[-1]:
            seen.append(op["status"])
    op["_seen"] = seen
    return op


def committed(
    client: httpx.Client, method: str, path: str, body: Any = None, **kw: Any
) -> dict[str, Any]:
    """Send a write, follow its operation, and insist that it committed."""
    reply = client.request(method, path, json=body, **kw)
    assert reply.status_code == 202, f"{method} {path}: {reply.status_code} {reply.text}"
    op = final(client, reply.json())
    assert op["status"] == "committed", op
    return op


def until(check: Any, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met after {timeout} s")
        time.sleep(0.05)


class LiveStream:
    """Reads a connector's Server-Sent Events in a thread, keeping every event it gets."""

    def __init__(self, client: httpx.Client) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._client = client
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the event stream did not open"

    def _read(self) -> None:
        with self._client.stream("GET", "/events", timeout=None) as reply:
            event = None
            for line in reply.iter_lines():
                if not self._ready.is_set():
                    self._ready.set()
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event:
                    self.events.append((event, json.loads(line.split(":", 1)[1])))
                    event = None

    def resource_events(self, entity_id: str) -> list[dict[str, Any]]:
        return [d for e, d in self.events if e == "resource" and d.get("id") == entity_id]

    def close(self) -> None:
        self._stop.set()


class WebhookReceiver:
    """An HTTP endpoint on 127.0.0.1 that records what the connector posts to it."""

    def __init__(self) -> None:
        received: list[tuple[dict[str, str], bytes]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/cbp-hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]

    def close(self) -> None:
        self._server.shutdown()
