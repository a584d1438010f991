"""The embedded engine held to Fabric by Fabric's own client: @hyperledger/fabric-gateway (Node).

The Node scripts in `node/` connect from the sandbox's connection profile exactly as an
application would, and print what the official client saw as JSON; these tests assert on it.
Where the engine must refuse or invalidate something, the expected outcome is what a Fabric
v3.1 peer gives (internal/pkg/gateway, core/endorser, core/committer/txvalidator), cited at
each assertion.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import EndorseError, FileCheckpointer, from_profile
from gateway.ledger import decode_block
from network.paths import sandbox_paths
from network.sandbox import Sandbox
from network.topology import load_topology

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from registry_fakes import ARETI_EIC, BSP1_EIC, TSO_EIC, participant, pod  # noqa: E402

NODE_DIR = Path(__file__).resolve().parent / "node"
CHANNEL = "bsp1-channel"
log = logging.getLogger(__name__)

# gRPC status codes as the Node client reports them (numbers)
FAILED_PRECONDITION, ABORTED, PERMISSION_DENIED, UNAVAILABLE = 9, 10, 7, 14
# peer.TxValidationCode
VALID, DUPLICATE_TXID, ENDORSEMENT_POLICY_FAILURE, MVCC_READ_CONFLICT = 0, 9, 10, 11
ENDORSER_TRANSACTION, CONFIG = 3, 1

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.timeout(240),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "@hyperledger" / "fabric-gateway").is_dir(),
        reason=f"Node conformance deps missing: run `npm ci` in {NODE_DIR}",
    ),
]


def node(script: str, request: dict[str, Any]) -> dict[str, Any]:
    run = subprocess.run(
        ["node", str(NODE_DIR / script)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=NODE_DIR,
    )
    assert run.returncode == 0, f"{script} failed:\n{run.stderr}"
    out = json.loads(run.stdout)
    assert isinstance(out, dict)
    return out


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """This module's own embedded sandbox (the conformance tier runs on its own)."""
    home = tmp_path_factory.mktemp("cbp-home-conformance")
    offset = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000")) + 200
    sb = Sandbox(load_topology(port_offset=offset), sandbox_paths(home), say=log.info)
    sb.up("embedded")
    try:
        yield sb
    finally:
        sb.down()


@pytest.fixture(scope="module")
def profile(sandbox: Sandbox) -> str:
    return str(sandbox.paths.connection_profile)


@pytest.fixture(scope="module")
def registry_ready(profile: str) -> None:
    """The BNA bootstrapped and BSP Alfa and Areti admitted (registry transactions need them)."""
    with from_profile("tso", "User1", profile) as tso:
        contract = tso.get_network(CHANNEL).get_contract("registry")
        for record in (
            participant("TSOMSP", TSO_EIC, "TSO", "Terna S.p.A."),
            participant("BSP1MSP", BSP1_EIC, "BSP", "BSP Alfa"),
            participant("ARETIMSP", ARETI_EIC, "DSO", "Areti S.p.A.", distributorCode="002"),
        ):
            try:
                contract.submit_transaction("AdmitParticipant", json.dumps(record))
            except EndorseError as exc:
                if not any("already" in d.message for d in exc.details):
                    raise


# ---- evaluate, submit, commit status, events --------------------------------------------------


@pytest.fixture(scope="module")
def flow(profile: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    checkpoint = tmp_path_factory.mktemp("node-checkpoint") / "checkpoint.json"
    request = {
        "profile": profile,
        "org": "bsp1",
        "user": "User1",
        "channel": CHANNEL,
        "chaincode": "smoke",
        "key": f"node-{uuid.uuid4().hex[:10]}",
        "value": secrets.token_hex(8),
        "eventName": f"NodeEvent{uuid.uuid4().hex[:6]}",
        "checkpointFile": str(checkpoint),
    }
    return {"request": request, "out": node("client-flow.js", request)}


def test_node_client_evaluates_and_submits(flow: dict[str, Any]) -> None:
    out, request = flow["out"], flow["request"]
    assert out["before"] == ""
    assert out["submitResult"] == ""
    assert out["after"] == request["value"]


def test_node_client_reads_commit_status(flow: dict[str, Any]) -> None:
    statuses = flow["out"]["statuses"]
    assert len(statuses) == 3
    for s in statuses:
        assert s["successful"] is True and s["code"] == VALID
        assert len(s["transactionId"]) == 64 and s["blockNumber"] > 0


def test_node_client_chaincode_events_resume_from_file_checkpoint(
    flow: dict[str, Any], profile: str
) -> None:
    out, request = flow["out"], flow["request"]
    emitted = [s["transactionId"] for s in out["statuses"]]
    first, second = out["firstListener"], out["secondListener"]
    # the second client resumed after the first one's checkpoint: each event once, in order
    assert [e["transactionId"] for e in first + second] == emitted
    assert [e["payload"] for e in first + second] == [f"payload-{i}" for i in range(3)]
    assert all(e["eventName"] == request["eventName"] for e in first + second)
    assert all(e["chaincodeName"] == "smoke" for e in first + second)
    assert out["checkpoint"] == {
        "blockNumber": first[-1]["blockNumber"],
        "transactionId": first[-1]["transactionId"],
    }
    # the Node checkpoint file is one the Python client resumes from too
    python_view = FileCheckpointer(request["checkpointFile"])
    assert python_view.block_number == second[-1]["blockNumber"]
    assert python_view.transaction_id == second[-1]["transactionId"]


def test_node_client_block_and_filtered_block_events(flow: dict[str, Any]) -> None:
    out = flow["out"]
    first_block = min(s["blockNumber"] for s in out["statuses"])
    in_first = [s["transactionId"] for s in out["statuses"] if s["blockNumber"] == first_block]
    block, filtered = out["block"], out["filteredBlock"]
    assert block["number"] == filtered["number"] == first_block
    assert [t for t in block["txIds"] if t in in_first] == in_first
    assert len(block["validationCodes"]) == len(block["txIds"])
    assert filtered["channelId"] == CHANNEL
    assert [t["txId"] for t in filtered["transactions"]] == block["txIds"]
    assert [t["code"] for t in filtered["transactions"]] == block["validationCodes"]
    for t in filtered["transactions"]:
        assert t["type"] == ENDORSER_TRANSACTION
        if t["txId"] in in_first:
            assert t["code"] == VALID
            assert t["eventNames"] == [flow["request"]["eventName"]]


def test_node_client_offline_signing(flow: dict[str, Any]) -> None:
    offline = flow["out"]["offline"]
    assert offline["status"]["successful"] is True
    assert offline["status"]["transactionId"] == offline["transactionId"]


# ---- refusals ---------------------------------------------------------------------------------


def test_node_client_other_tenant_refused_as_a_fabric_peer_refuses(profile: str) -> None:
    out = node(
        "refused.js",
        {
            "profile": profile,
            "org": "bsp2",
            "user": "User1",
            "channel": CHANNEL,
            "chaincode": "smoke",
        },
    )
    # core/endorser msgvalidation.go: BSP2MSP is no MSP of the channel, so the creator cannot be
    # deserialized; preProcess fails with an error, which the gateway maps to FAILED_PRECONDITION
    # on Evaluate (evaluate.go) and to ABORTED with the per-peer details on Endorse (endorse.go).
    refusal = (
        f"error validating proposal: access denied: channel [{CHANNEL}] "
        "creator org unknown, creator is malformed"
    )
    evaluate = out["evaluate"]["error"]
    assert evaluate["name"] == "GatewayError" and evaluate["code"] == FAILED_PRECONDITION
    assert [d["message"] for d in evaluate["details"]] == [refusal]
    assert evaluate["details"][0]["mspId"] == "BSPHostMSP"

    submit = out["submit"]["error"]
    assert submit["name"] == "EndorseError" and submit["code"] == ABORTED
    assert submit["details"] and all(d["message"] == refusal for d in submit["details"])

    # chaincodeevents.go: the Readers ACL check fails with PERMISSION_DENIED
    assert out["chaincodeEvents"]["error"]["code"] == PERMISSION_DENIED
    # Deliver answers a non-member with status FORBIDDEN (403), which the client raises
    assert "403" in out["blockEvents"]["error"]["message"]


def test_node_client_undefined_chaincode_fails_precondition(profile: str) -> None:
    out = node(
        "refused.js",
        {
            "profile": profile,
            "org": "bsp1",
            "user": "User1",
            "channel": CHANNEL,
            "chaincode": "nosuch",
            "calls": ["evaluate", "submit"],
        },
    )
    # registry.go evaluator(): no peer has the chaincode -> evaluate.go FAILED_PRECONDITION
    evaluate = out["evaluate"]["error"]
    assert (evaluate["name"], evaluate["code"]) == ("GatewayError", FAILED_PRECONDITION)
    assert evaluate["message"] == (
        f"{FAILED_PRECONDITION} FAILED_PRECONDITION: "
        f"no peers available to evaluate chaincode nosuch in channel {CHANNEL}"
    )
    # endorse.go planFromFirstEndorser(): no local endorser has it, discovery finds no plan
    submit = out["submit"]["error"]
    assert (submit["name"], submit["code"]) == ("EndorseError", FAILED_PRECONDITION)
    assert (
        "no combination of peers can be derived which satisfy the endorsement policy"
        in (submit["message"])
    )


def test_node_client_endorsing_org_without_peers_unavailable(profile: str) -> None:
    out = node(
        "refused.js",
        {
            "profile": profile,
            "org": "bsp1",
            "user": "User1",
            "channel": CHANNEL,
            "chaincode": "smoke",
            "calls": ["submit"],
            "endorsingOrganizations": ["BSP1MSP"],  # a tenant: no peers of its own
        },
    )
    submit = out["submit"]["error"]
    # endorse.go: planForOrgs fails -> UNAVAILABLE
    assert (submit["name"], submit["code"]) == ("EndorseError", UNAVAILABLE)
    assert submit["message"] == (
        f"{UNAVAILABLE} UNAVAILABLE: failed to find any endorsing peers for org(s): BSP1MSP"
    )


# ---- validation ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validation(profile: str, registry_ready: None) -> dict[str, Any]:
    pod_id, marker_id = (f"IT002E{secrets.randbelow(10**8):08d}" for _ in range(2))
    return node(
        "validation.js",
        {
            "profile": profile,
            "channel": CHANNEL,
            # registry's policy is AND(TSO peer, a host peer): the TSO alone is short of it
            "registryArgs": {"function": "WhoAmI", "args": []},
            "shortOrgs": ["TSOMSP"],
            "conflictArgs": {"function": "RegisterPod", "args": [json.dumps(pod(pod_id))]},
            "markerArgs": {"function": "RegisterPod", "args": [json.dumps(pod(marker_id))]},
        },
    )


def test_node_client_conflicting_updates_one_valid_one_mvcc_conflict(
    validation: dict[str, Any],
) -> None:
    conflict = validation["conflictingUpdates"]
    statuses = conflict["statuses"]
    assert sorted(s["code"] for s in statuses) == [VALID, MVCC_READ_CONFLICT]
    assert [s["successful"] for s in statuses].count(True) == 1
    # chaincodeevents.go delivers events of valid transactions only
    valid = next(s["transactionId"] for s in statuses if s["successful"])
    assert conflict["eventTxIds"] == [valid, conflict["marker"]["transactionId"]]


def test_node_client_forged_signatures_refused(validation: dict[str, Any]) -> None:
    forged = validation["forgedSignatures"]
    # msgvalidation.go: the creator deserializes but its signature does not verify
    refusal = f"error validating proposal: access denied: channel [{CHANNEL}] creator org [BSP1MSP]"
    endorse = forged["endorse"]["error"]
    assert endorse["name"] == "EndorseError" and endorse["code"] == ABORTED
    assert [d["message"] for d in endorse["details"]] == [refusal]
    evaluate = forged["evaluate"]["error"]
    assert evaluate["name"] == "GatewayError" and evaluate["code"] == FAILED_PRECONDITION
    # submit.go: the orderer refuses the envelope (Writers policy), 4xx -> ABORTED, no retry
    submit = forged["submit"]["error"]
    assert submit["name"] == "SubmitError" and submit["code"] == ABORTED
    assert "status=FORBIDDEN" in submit["message"]


def test_node_client_endorsement_short_of_policy_fails_validation(
    validation: dict[str, Any],
) -> None:
    status = validation["shortEndorsement"]
    assert status["successful"] is False
    assert status["code"] == ENDORSEMENT_POLICY_FAILURE


def test_node_client_reused_transaction_id(validation: dict[str, Any]) -> None:
    reused = validation["reusedTransactionId"]
    first, copies = reused["first"], reused["copies"]
    assert first["code"] == VALID
    # the first copy is the valid one; the copy ordered again is DUPLICATE_TXID
    assert copies[0] == {"block": first["blockNumber"], "index": copies[0]["index"], "code": VALID}
    assert [c["code"] for c in copies[1:]] == [DUPLICATE_TXID]
    assert copies[1]["block"] >= first["blockNumber"]
    # endorser.go preProcess: a committed transaction id is refused at endorsement
    error = reused["reendorse"]["error"]
    assert error["name"] == "EndorseError" and error["code"] == ABORTED
    assert all(
        d["message"].startswith(f"duplicate transaction found [{reused['transactionId']}]")
        for d in error["details"]
    )


# ---- blocks -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blocks(profile: str, flow: dict[str, Any], validation: dict[str, Any]) -> dict[str, Any]:
    """Every block of the channel, after the tests above added valid and invalid transactions."""
    return node("blocks.js", {"profile": profile, "org": "tso", "channel": CHANNEL})


def test_node_client_blocks_hash_chain(blocks: dict[str, Any]) -> None:
    chain = blocks["blocks"]
    assert [b["number"] for b in chain] == list(range(blocks["height"]))
    assert all(b["dataHashOk"] for b in chain), [b["number"] for b in chain if not b["dataHashOk"]]
    assert all(b["linkOk"] for b in chain), [b["number"] for b in chain if not b["linkOk"]]
    assert chain[-1]["headerHash"] == blocks["chainInfo"]["currentBlockHash"]
    assert chain[-2]["headerHash"] == blocks["chainInfo"]["previousBlockHash"]


def test_node_client_header_hashes_match_the_python_client(
    blocks: dict[str, Any], profile: str
) -> None:
    with from_profile("tso", "User1", profile) as gw:
        network = gw.get_network(CHANNEL)
        ours = [
            decode_block(network.get_block(n)).header_hash.hex() for n in range(blocks["height"])
        ]
    assert ours == [b["headerHash"] for b in blocks["blocks"]]


def test_node_client_every_block_decodes_with_fabric_protos(blocks: dict[str, Any]) -> None:
    chain = blocks["blocks"]
    genesis = chain[0]
    assert [e["type"] for e in genesis["envelopes"]] == [CONFIG]
    assert genesis["envelopes"][0]["configGroups"] == ["Application", "Orderer"]
    codes_seen: set[int] = set()
    for b in chain:
        meta = b["metadata"]
        assert (
            meta["entries"] == 5
        )  # SIGNATURES, LAST_CONFIG, TRANSACTIONS_FILTER, ORDERER, COMMIT_HASH
        assert len(meta["transactionsFilter"]) == len(b["envelopes"])
        codes_seen.update(meta["transactionsFilter"])
        # no config update in the sandbox: every block points back at the genesis config block
        assert meta["lastConfig"] == 0
        if b["number"] > 0:
            # verified with Node's crypto against the orderer certificate in the signature header
            assert meta["signatures"], f"block {b['number']} has no orderer signature"
            assert all(sig["ok"] and sig["mspId"] == "OrdererMSP" for sig in meta["signatures"])
        for env in b["envelopes"]:
            assert env["channel"] == CHANNEL
            if env["type"] == ENDORSER_TRANSACTION:
                assert len(env["txId"]) == 64
                assert env["actions"] and all(a["endorsers"] for a in env["actions"])
    assert {VALID, DUPLICATE_TXID, ENDORSEMENT_POLICY_FAILURE, MVCC_READ_CONFLICT} <= codes_seen


def test_node_client_transactions_read_their_chaincode_sequence(blocks: dict[str, Any]) -> None:
    for b in blocks["blocks"]:
        for env in b["envelopes"]:
            for action in env.get("actions", []):
                if action["chaincode"].startswith("_"):
                    continue  # system chaincodes have no definition to read
                lifecycle = [n for n in action["namespaces"] if n["namespace"] == "_lifecycle"]
                sequence_key = f"namespaces/fields/{action['chaincode']}/Sequence"
                assert lifecycle and sequence_key in lifecycle[0]["readKeys"], (
                    f"block {b['number']} tx {env['txId']}: no _lifecycle read of "
                    f"namespaces/fields/{action['chaincode']}/Sequence"
                )
