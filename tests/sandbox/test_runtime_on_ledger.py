"""The Python chaincode runtime on a running ledger, through the gateway client.

Every claim is checked where a user would check it: in the committed block, the key's history,
the peers' answers, the commit status.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from gateway import CommitError, Gateway, GatewayError, from_profile
from gateway.aio import connect as aio_connect
from gateway.ledger import decode_block
from gateway.profile import read_profile, resolve_endpoint
from gateway.signing import load_signer
from network.embedded.policydsl import from_string
from network.sandbox import Sandbox

CHANNEL = "bsp1-channel"
pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def tso(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    with from_profile("tso", "User1", profile_path) as gw:
        yield gw


def _key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_runtime_event_reaches_the_blocks_transaction(tso: Gateway) -> None:
    contract = tso.get_network(CHANNEL).get_contract("smoke")
    payload = _key("payload")
    commit = contract.new_proposal("EmitEvent", "PodRegistered", payload).endorse().submit()
    status = commit.get_status()
    assert status.successful
    block = decode_block(tso.get_network(CHANNEL).get_block(status.block_number))
    tx = next(t for t in block.transactions if t.transaction_id == commit.transaction_id)
    assert tx.events == ("PodRegistered",)
    with tso.get_network(CHANNEL).chaincode_events(
        "smoke", start_block=status.block_number
    ) as events:
        event = next(iter(events))
    assert (event.transaction_id, event.event_name, event.payload) == (
        commit.transaction_id,
        "PodRegistered",
        payload.encode(),
    )
    assert event.block_number == status.block_number


def test_runtime_history_shows_every_write(tso: Gateway) -> None:
    contract = tso.get_network(CHANNEL).get_contract("smoke")
    key = _key("hist")
    txids = []
    for step in (("Put", key, "v1"), ("Put", key, "v2"), ("Delete", key)):
        commit = contract.new_proposal(*step).endorse().submit()
        commit.get_status().raise_for_status()
        txids.append(commit.transaction_id)
    history = json.loads(contract.evaluate_transaction("History", key))
    assert [h["txId"] for h in history] == list(reversed(txids)) or [
        h["txId"] for h in history
    ] == txids
    by_tx = {h["txId"]: h for h in history}
    assert by_tx[txids[0]]["value"] == "v1" and by_tx[txids[1]]["value"] == "v2"
    assert by_tx[txids[2]]["isDelete"] is True


def test_runtime_pagination_returns_every_record_once(sandbox: Sandbox, profile_path: str) -> None:
    prefix = _key("page")
    keys = [f"{prefix}-{i:03d}" for i in range(45)]

    async def put_all() -> None:
        gw = _aio_gateway(profile_path, "tso")
        try:
            contract = gw.get_network(CHANNEL).get_contract("smoke")
            await asyncio.gather(*(contract.submit_transaction("Put", k, k) for k in keys))
        finally:
            await gw.close()

    asyncio.run(put_all())
    with from_profile("tso", "User1", profile_path) as gw:
        contract = gw.get_network(CHANNEL).get_contract("smoke")
        seen: list[str] = []
        bookmark = ""
        pages = 0
        while True:
            page = json.loads(
                contract.evaluate_transaction(
                    "RangePage", f"{prefix}-", f"{prefix}-~", "10", bookmark
                )
            )
            seen += [r["key"] for r in page["records"]]
            assert page["fetchedRecordsCount"] == len(page["records"])
            pages += 1
            bookmark = page["bookmark"]
            if len(page["records"]) < 10 or not bookmark:
                break
            assert pages < 20
    assert seen == keys
    assert pages == 5


def test_runtime_transient_reaches_chaincode_and_never_the_block(tso: Gateway) -> None:
    contract = tso.get_network(CHANNEL).get_contract("smoke")
    key = _key("pvt")
    secret = f"secret-{uuid.uuid4().hex}".encode()
    commit = (
        contract.new_proposal("PutPrivate", "tsoPrivate", key, transient={"value": secret})
        .endorse()
        .submit()
    )
    status = commit.get_status()
    assert status.successful
    # a member org's peer (the TSO's) serves the value
    assert contract.evaluate_transaction("GetPrivate", "tsoPrivate", key) == secret
    raw = tso.get_network(CHANNEL).get_block(status.block_number).SerializeToString()
    assert secret not in raw
    assert hashlib.sha256(secret).digest() in raw  # only the hash is on the ledger


def test_runtime_private_data_not_kept_by_non_member_peers(
    sandbox: Sandbox, profile_path: str
) -> None:
    key = _key("pvt2")
    secret = b"only-for-members"
    with from_profile("tso", "User1", profile_path) as gw:
        contract = gw.get_network(CHANNEL).get_contract("smoke")
        contract.submit_transaction("PutPrivate", "tsoPrivate", key, transient={"value": secret})
    with from_profile("dsohost", "Admin", profile_path) as gw:  # DSOHostMSP is no member
        contract = gw.get_network(CHANNEL).get_contract("smoke")
        try:
            value = contract.evaluate_transaction("GetPrivate", "tsoPrivate", key)
        except GatewayError:
            value = b""
        assert value != secret


def test_runtime_key_level_endorsement_enforced_at_validation(tso: Gateway) -> None:
    contract = tso.get_network(CHANNEL).get_contract("smoke")
    key = _key("kle")
    contract.submit_transaction("Put", key, "v0")
    policy = from_string("OR('DSOHostMSP.peer')").SerializeToString()
    contract.submit_transaction(
        "SetKeyPolicy",
        key,
        base64.b64encode(policy).decode(),
        endorsing_organizations=["DSOHostMSP"],
    )
    # endorsed by the TSO peer alone: fine for the chaincode's policy, not for the key's
    with pytest.raises(CommitError) as err:
        contract.submit_transaction("Put", key, "v1", endorsing_organizations=["TSOMSP"])
    assert err.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
    assert contract.evaluate_transaction("Get", key) == b"v0"
    contract.submit_transaction("Put", key, "v2", endorsing_organizations=["DSOHostMSP"])
    assert contract.evaluate_transaction("Get", key) == b"v2"


def _aio_gateway(profile_path: str, org: str):  # type: ignore[no-untyped-def]
    ep = resolve_endpoint(read_profile(profile_path), org, "User1")
    from gateway import load_identity

    return aio_connect(
        ep.url,
        load_identity(ep.msp_id, ep.certificate),
        load_signer(ep.private_key),
        tls_root_certificates=ep.tls_ca_certificate,
        hostname_override=ep.hostname,
    )


def test_runtime_thousand_concurrent_transactions_none_lost(
    sandbox: Sandbox, profile_path: str
) -> None:
    prefix = _key("k1000")

    async def run() -> list[BaseException | bytes]:
        # Fabric's peers admit at most 500 concurrent gateway requests each
        # (peer.limits.concurrency.gatewayService), so the 1,000 go through three gateways at once
        gateways = [_aio_gateway(profile_path, org) for org in ("tso", "bsphost", "dsohost")]
        try:
            contracts = [g.get_network(CHANNEL).get_contract("smoke") for g in gateways]
            return await asyncio.gather(
                *(
                    contracts[i % 3].submit_transaction("Put", f"{prefix}-{i:04d}", str(i))
                    for i in range(1000)
                ),
                return_exceptions=True,
            )
        finally:
            for g in gateways:
                await g.close()

    results = asyncio.run(run())
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    with from_profile("bsp1", "User1", profile_path) as gw:
        rows = json.loads(
            gw.get_network(CHANNEL)
            .get_contract("smoke")
            .evaluate_transaction("Range", f"{prefix}-", f"{prefix}-~")
        )
    assert [r["value"] for r in rows] == [str(i) for i in range(1000)]


def test_runtime_fifty_megabyte_argument_round_trips(tso: Gateway) -> None:
    # 50 MB: a TRANSACTION message carries the argument twice (input and signed proposal), which
    # fits Fabric's 100 MiB limit on chaincode messages; 50 MiB would not, on real peers either
    blob = bytes(range(256)) * (50_000_000 // 256)
    contract = tso.get_network(CHANNEL).get_contract("smoke")
    assert contract.evaluate_transaction("Echo", blob, timeout=60) == blob


def test_runtime_exception_is_an_error_within_a_second(tso: Gateway) -> None:
    contract = tso.get_network(CHANNEL).get_contract("smoke")
    start = time.monotonic()
    with pytest.raises(GatewayError) as err:
        contract.evaluate_transaction("Fail", "the meter reading is missing")
    assert time.monotonic() - start < 1.0
    assert "the meter reading is missing" in str(err.value)
