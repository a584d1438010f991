"""Each refusal of the connector's API, and that it changes neither the ledger nor the store.

422 names the field and the rule; 403 is another tenant's resource or another role's action;
404 an unknown id; 409 a wrong lifecycle state in the chaincode's own words; 413 and 415 a
document too large or of the wrong kind (by content); 503 and 504 a ledger that is down or
silent, with the operation kept and retried.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from connector_helpers import (
    BSP2_EIC,
    WAIT,
    committed,
    diagram,
    new_pod_code,
    pod_body,
    until,
)
from connectors import Connectors

from gateway import Gateway, from_profile

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def ledger(connectors: Connectors) -> Iterator[Gateway]:
    with from_profile("tso", "User1", connectors.profile) as gw:
        yield gw


@pytest.fixture(scope="module")
def registered(connectors: Connectors) -> str:
    """A POD owned by BSP 1, Registered (no attachment yet)."""
    code = new_pod_code()
    committed(connectors.client("bsp1"), "POST", "/pods", pod_body(code))
    return code


Call = Callable[[Connectors, str], httpx.Response]


def _post_pod(org: str, access: str = "operator", **change: Any) -> Call:
    def call(c: Connectors, code: str) -> httpx.Response:
        body = {k: v for k, v in pod_body(new_pod_code(), **change).items() if v is not None}
        return c.client(org, access).post("/pods", json=body, headers=WAIT)

    return call


def _patch(org: str, path: str, body: dict[str, Any]) -> Call:
    def call(c: Connectors, code: str) -> httpx.Response:
        return c.client(org).patch(path.format(code=code), json=body, headers=WAIT)

    return call


def _attach(content: bytes, mime: str | None = None) -> Call:
    def call(c: Connectors, code: str) -> httpx.Response:
        body = diagram(content)
        if mime:
            body["mimeType"] = mime
        return c.client("bsp1").post(f"/pods/{code}/attachments", json=body, headers=WAIT)

    return call


def _get(org: str, path: str) -> Call:
    def call(c: Connectors, code: str) -> httpx.Response:
        return c.client(org).get(path.format(code=code))

    return call


# case -> (call, status, code, the field it names or None, words of the message)
CASES: dict[str, tuple[Call, int, str, str | None, str]] = {
    "EIC check character": (
        _post_pod("bsp1", receiverId="10X1001A1001A346"),
        422,
        "InvalidArgument",
        "receiverId",
        "wrong check character",
    ),
    "POD code format": (
        _post_pod("bsp1", meteringPointId="IT02E123"),
        422,
        "InvalidArgument",
        "meteringPointId",
        "IT + 3-digit distributor + E + 8 digits",
    ),
    "negative power": (
        _post_pod("bsp1", contractedPower=-5),
        422,
        "InvalidArgument",
        "contractedPower",
        "greater than or equal to 0",
    ),
    "flex above contracted power": (
        _post_pod("bsp1", maximumFlexUp=500.0),
        422,
        "InvalidArgument",
        None,
        "maximumFlexUp 500 kW exceeds contractedPower 200 kW",
    ),
    "date not ISO": (
        _post_pod("bsp1", startDateTime="next monday"),
        422,
        "InvalidArgument",
        "startDateTime",
        "is not ISO 8601",
    ),
    "date out of range": (
        _post_pod("bsp1", startDateTime=10**20),
        422,
        "InvalidArgument",
        "startDateTime",
        "out of range",
    ),
    "end before start": (
        _post_pod("bsp1", endDateTime="2025-01-01T00:00:00Z"),
        422,
        "InvalidArgument",
        None,
        "must be before endDateTime",
    ),
    "unknown enum": (
        _post_pod("bsp1", direction="sideways"),
        422,
        "InvalidArgument",
        "direction",
        "'consumption', 'generation' or 'mixed'",
    ),
    "misspelt field": (
        _post_pod("bsp1", resourceNam="x"),
        422,
        "InvalidArgument",
        "resourceNam",
        "is not a field of this request",
    ),
    "direction override in a name": (
        _post_pod("bsp1", resourceName="Parking \u202eenitsO"),
        422,
        "InvalidArgument",
        "resourceName",
        "direction-override characters",
    ),
    "NUL in a path": (
        _get("bsp1", "/pods/IT002E%00"),
        422,
        "InvalidArgument",
        None,
        "control characters",
    ),
    "missing field": (
        _post_pod("bsp1", resourceName=None),
        422,
        "InvalidArgument",
        "resourceName",
        "is mandatory and missing",
    ),
    "another tenant's resource": (
        _post_pod("bsp1", flexibilityServiceProviderId=BSP2_EIC),
        403,
        "Forbidden",
        None,
        "is another party's",
    ),
    "another tenant's POD by id": (
        _get("bsp2", "/pods/{code}"),
        404,
        "NotFound",
        None,
        "not known to this connector",
    ),
    "a viewer writes": (
        _post_pod("bsp1", access="viewer"),
        403,
        "Forbidden",
        None,
        "may not register",
    ),
    "a BSP pre-validates": (
        _patch("bsp1", "/pods/{code}/status", {"status": "PreValidated"}),
        403,
        "Forbidden",
        None,
        "a BSP sends a POD for review",
    ),
    "the TSO registers a POD": (
        _post_pod("tso"),
        403,
        "Forbidden",
        None,
        "may not register",
    ),
    "the DSO validates too early": (
        _patch("areti", "/pods/{code}/status", {"status": "Validated"}),
        409,
        "WrongState",
        None,
        "is Registered; it can move to Validated only from PreValidated",
    ),
    "unknown POD": (
        _patch("bsp1", "/pods/IT002E99999999", {"resourceName": "x"}),
        404,
        "NotFound",
        None,
        "POD IT002E99999999 is not known",
    ),
    "wrong lifecycle state": (
        _patch("bsp1", "/pods/{code}", {"resourceName": "x"}),
        409,
        "WrongState",
        None,
        "is Registered; information can change only while Open",
    ),
    "attachment over 5 MB": (
        _attach(b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024)),
        413,
        "TooLarge",
        None,
        "at most 5 MB",
    ),
    "attachment neither PDF nor XML": (
        _attach(b"GIF89a not a document"),
        415,
        "UnsupportedMediaType",
        None,
        "neither PDF nor XML",
    ),
    "attachment named PDF, holding XML": (
        _attach(b"<?xml version='1.0'?><sld/>", "application/pdf"),
        415,
        "UnsupportedMediaType",
        None,
        "the content is application/xml",
    ),
    "no token": (
        lambda c, code: httpx.get(f"{c.urls['bsp1']}/pods"),
        401,
        "Unauthenticated",
        None,
        "log in first",
    ),
    "forged token": (
        lambda c, code: httpx.get(
            f"{c.urls['bsp1']}/pods", headers={"Authorization": "Bearer e30.e30.AAAA"}
        ),
        401,
        "Unauthenticated",
        None,
        "not valid for this connector",
    ),
}


def _state(c: Connectors, ledger: Gateway, code: str) -> tuple[int, Any, int]:
    height = ledger.get_network("bsp1-channel").get_chain_info().height
    pod = c.client("bsp1").get(f"/pods/{code}").json()
    total = c.client("tso").get("/pods", params={"limit": 1}).json()["total"]
    return height, {k: pod[k] for k in ("status", "record", "devices", "attachments")}, total


@pytest.mark.parametrize("case", list(CASES))
def test_connector_refusal_changes_nothing(
    case: str, connectors: Connectors, ledger: Gateway, registered: str
) -> None:
    call, status, code, field, words = CASES[case]
    before = _state(connectors, ledger, registered)
    reply = call(connectors, registered)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["status"] == status and error["code"] == code, error
    assert words in error["message"], error["message"]
    if field is not None:
        assert field in [f["field"] for f in error["fields"]], error
    assert "Traceback" not in reply.text
    assert _state(connectors, ledger, registered) == before


def test_connector_wrong_state_without_waiting_fails_the_operation(
    connectors: Connectors, registered: str
) -> None:
    bsp = connectors.client("bsp1")
    reply = bsp.patch(f"/pods/{registered}", json={"resourceName": "x"})
    assert reply.status_code == 202 and reply.headers["Location"].startswith("/operations/")
    op = until(lambda: (o := bsp.get(reply.headers["Location"]).json())["status"] == "failed" and o)
    assert op["error"] == {
        "status": 409,
        "code": "WrongState",
        "message": f"WrongState: POD {registered} is Registered; information can change only "
        "while Open",
        "fields": [],
        "operationId": op["id"],
    }


def _blackhole() -> int:
    """A port that accepts connections and never answers: a ledger that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            conn, _ = server.accept()
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return int(server.getsockname()[1])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_port() -> int:
    return _closed_port()


@pytest.mark.parametrize("outage", ["down", "silent"])
def test_connector_ledger_unreachable_keeps_the_operation(
    outage: str, connectors: Connectors, tmp_path: Path
) -> None:
    """503 (down) or 504 (silent) with the operation still accepted; once the ledger is back,
    the same operation commits."""
    profile = json.loads(connectors.profile.read_text())
    port = _closed_port() if outage == "down" else _blackhole()
    for peer in profile["peers"].values():
        peer["url"] = f"grpcs://127.0.0.1:{port}"
    broken = tmp_path / "profile.json"
    broken.write_text(json.dumps(profile))
    variant = connectors.variant(
        f"ledger-{outage}", broken, _free_port(), {"CBP_CONNECTOR_LEDGER_TIMEOUT_SECONDS": "1"}
    )
    variant.start("bsp1")
    try:
        code = new_pod_code()
        reply = variant.client("bsp1").post(
            "/pods", json=pod_body(code), headers={"Prefer": "wait=4"}
        )
        expected = (503, "LedgerUnavailable") if outage == "down" else (504, "LedgerTimeout")
        assert (reply.status_code, reply.json()["error"]["code"]) == expected, reply.text
        op_id = reply.json()["error"]["operationId"]
        assert variant.client("bsp1").get(f"/operations/{op_id}").json()["status"] == "accepted"
        # the ledger comes back: the same connector store, the right profile
        variant.stop("bsp1")
        variant.profile = connectors.profile
        variant.start("bsp1")
        client = variant.client("bsp1")
        op = until(
            lambda: (
                (o := client.get(f"/operations/{op_id}").json())["status"]
                in ("committed", "failed")
                and o
            ),
            timeout=60,
        )
        assert op["status"] == "committed" and op["resourceId"] == code
        assert op["attempts"] == 1
    finally:
        variant.stop_all()


def test_connector_document_bytes_checked_against_the_ledger(connectors: Connectors) -> None:
    bsp = connectors.client("bsp1")
    code = new_pod_code()
    committed(bsp, "POST", "/pods", pod_body(code))
    op = committed(bsp, "POST", f"/pods/{code}/attachments", diagram())
    content = bsp.get(f"/attachments/{op['resourceId']}/content")
    assert content.status_code == 200
    assert content.headers["X-Content-SHA256"] == op["result"]["sha256"]
    assert base64.b64encode(content.content).decode() == diagram()["documentFile"]


def test_connector_log_in_throttled_after_five_failures(connectors: Connectors) -> None:
    url = connectors.urls["bsp1"]
    for _ in range(5):
        reply = httpx.post(f"{url}/auth/token", data={"username": "intruder", "password": "x"})
        assert reply.status_code == 401
    reply = httpx.post(f"{url}/auth/token", data={"username": "intruder", "password": "x"})
    assert reply.status_code == 429 and int(reply.headers["Retry-After"]) > 0
    assert reply.json()["error"]["code"] == "TooManyAttempts"
    # another name is not held up by it
    ok = httpx.post(
        f"{url}/auth/token",
        data={"username": "bsp1-viewer", "password": connectors.password("bsp1", "viewer")},
    )
    assert ok.status_code == 200
