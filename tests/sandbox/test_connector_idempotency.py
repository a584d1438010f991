"""An Idempotency-Key on the running sandbox: the same write sent again, or sent twice at once,
is one operation and one transaction on the ledger; the key reused for another write is
refused, naming the operation it belongs to."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from connector_helpers import final, new_pod_code, pod_body
from connectors import Connectors

from gateway import from_profile

pytestmark = pytest.mark.sandbox


def _post(connectors: Connectors, key: str, body: dict[str, object]) -> httpx.Response:
    client = connectors.client("bsp1")
    return client.post("/pods", json=body, headers={"Idempotency-Key": key})


def test_a_write_sent_twice_at_once_with_one_key_is_one_transaction(
    connectors: Connectors,
) -> None:
    key, code = uuid.uuid4().hex, new_pod_code()
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: _post(connectors, key, pod_body(code)), range(4)))
    assert all(r.status_code == 202 for r in replies), [r.text for r in replies]
    ids = {r.json()["id"] for r in replies}
    assert len(ids) == 1, ids
    op = final(connectors.client("bsp1"), replies[0].json())
    assert op["status"] == "committed" and op["attempts"] == 1
    # sent again later: the same operation, already committed
    again = _post(connectors, key, pod_body(code))
    assert again.status_code == 202 and again.json()["id"] == op["id"]
    assert again.json()["status"] == "committed"
    # the ledger holds one registration of that POD: one version in its history
    with from_profile("bsp1", "User1", connectors.profile) as gw:
        network = gw.get_network(op["channel"])
        assert network.get_transaction(op["transactionId"]).valid
    history = connectors.client("bsp1").get(f"/pods/{code}/history").json()
    assert [h["value"]["status"] for h in history] == ["Registered"]


def test_a_key_reused_for_another_write_is_refused(connectors: Connectors) -> None:
    key, code = uuid.uuid4().hex, new_pod_code()
    first = _post(connectors, key, pod_body(code))
    assert first.status_code == 202
    bsp = connectors.client("bsp1")
    other = bsp.patch(
        f"/pods/{code}/status", json={"status": "UnderReview"}, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 409, other.text
    error = other.json()["error"]
    assert error["code"] == "IdempotencyKeyReused"
    assert first.json()["id"] in error["message"]
    final(bsp, first.json())
