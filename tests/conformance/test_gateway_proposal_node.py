"""The Python gateway client builds the same proposal as Fabric's official Node client.

Both build a proposal for the same identity and inputs; nonce, transaction id and timestamp
differ by design, so both are decoded down to every nested message, those three fields are
checked for their rules (txid = sha256(nonce + creator), 24-byte nonce) and then blanked, and
the rest must be equal. The Node side also signs our digest's counterpart so we can verify a
signature made by Fabric's own signer with ours.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from fabric_protos.common import common_pb2  # noqa: E402
from fabric_protos.gateway import gateway_pb2  # noqa: E402
from fabric_protos.peer import chaincode_pb2, proposal_pb2  # noqa: E402
from test_gateway_helpers import issue, new_ca  # noqa: E402

from gateway import Identity  # noqa: E402
from gateway.proposal import TransactionContext, build_proposed_transaction, qualified_name  # noqa: E402
from gateway.signing import ECDSASigner, is_low_s, sha256  # noqa: E402

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "build-proposal.js"

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "@hyperledger" / "fabric-gateway").is_dir(),
        reason=f"Node conformance deps missing: run `npm ci` in {NODE_DIR}",
    ),
]


def _decode(proposed_bytes: bytes) -> dict[str, Any]:
    """Every nested message of a ProposedTransaction, decoded."""
    proposed = gateway_pb2.ProposedTransaction.FromString(proposed_bytes)
    proposal = proposal_pb2.Proposal.FromString(proposed.proposal.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    return {
        "proposed": proposed,
        "channel_header": channel_header,
        "extension": proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension),
        "signature_header": common_pb2.SignatureHeader.FromString(header.signature_header),
        "payload": payload,
        "invocation": chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input),
    }


def _normalise(d: dict[str, Any]) -> dict[str, Any]:
    """Blank what differs by design, after checking the rules that bind those fields."""
    sh, ch, proposed = d["signature_header"], d["channel_header"], d["proposed"]
    assert len(sh.nonce) == 24
    txid = hashlib.sha256(sh.nonce + sh.creator).hexdigest()
    assert ch.tx_id == txid and proposed.transaction_id == txid
    assert ch.HasField("timestamp") and ch.timestamp.seconds > 0
    sh.nonce = b""
    ch.tx_id = ""
    ch.ClearField("timestamp")
    proposed.transaction_id = ""
    proposed.proposal.proposal_bytes = b""  # its content is compared field by field above
    return {k: v.SerializeToString(deterministic=True) for k, v in d.items()} | {
        "transient": dict(d["payload"].TransientMap),
    }


@pytest.mark.parametrize(
    "case",
    [
        {"contract": None, "transaction": "ReadPod", "args": ["IT002E00112233"]},
        {
            "contract": "registry",
            "transaction": "RegisterPod",
            "args": ['{"meteringPointId":"IT002E00112233"}', "x"],
            "transient": {"secret": "s3cr3t", "other": "v"},
            "endorsingOrganizations": ["TSOMSP", "BSPHostMSP"],
        },
    ],
    ids=["plain", "contract-transient-orgs"],
)
def test_gateway_proposal_matches_node_fabric_gateway(case: dict[str, Any]) -> None:
    user = issue(new_ca("ca.bsp1.cbp.local"), "User1@bsp1.cbp.local")
    request = {
        "mspId": "BSP1MSP",
        "certPem": user.cert_pem.decode(),
        "keyPem": user.key_pem.decode(),
        "channel": "bsp1-channel",
        "chaincode": "registry",
        **{k: v for k, v in case.items() if v is not None},
    }
    run = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=45,
        cwd=NODE_DIR,
    )
    assert run.returncode == 0, run.stderr
    node = json.loads(run.stdout)
    node_bytes = base64.b64decode(node["bytes"])

    identity = Identity("BSP1MSP", user.cert_pem)
    ours = build_proposed_transaction(
        channel="bsp1-channel",
        chaincode="registry",
        transaction_name=qualified_name(case["transaction"], case["contract"]),
        context=TransactionContext.new(identity.creator),
        args=case["args"],
        transient=case.get("transient"),
        endorsing_organizations=case.get("endorsingOrganizations", ()),
    )
    ours_bytes = ours.SerializeToString()

    node_decoded, our_decoded = _decode(node_bytes), _decode(ours_bytes)
    # Digest rule: both sign SHA-256 of the proposal bytes.
    node_proposal_bytes = node_decoded["proposed"].proposal.proposal_bytes
    assert base64.b64decode(node["digest"]) == sha256(node_proposal_bytes)
    assert node["transactionId"] == node_decoded["proposed"].transaction_id
    assert _normalise(our_decoded) == _normalise(node_decoded)

    # Signatures cross-check: Fabric's Node signer output verifies and is low-S, like ours.
    node_sig = base64.b64decode(node["signature"])
    user.key.public_key().verify(node_sig, node_proposal_bytes, ec.ECDSA(hashes.SHA256()))
    assert is_low_s(node_sig, user.key.curve)
    our_sig = ECDSASigner(user.key)(sha256(ours.proposal.proposal_bytes))
    user.key.public_key().verify(our_sig, ours.proposal.proposal_bytes, ec.ECDSA(hashes.SHA256()))
