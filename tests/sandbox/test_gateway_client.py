"""The Python gateway client against a running sandbox: every call and every error.

Each error type is provoked the way a user would meet it, and checked for what a user reads:
its type, its gRPC code, the transaction id and what each peer or orderer said.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gateway import (
    CommitError,
    CommitStatusError,
    ECDSASigner,
    EndorseError,
    EventsError,
    Gateway,
    GatewayError,
    IdentityError,
    SubmitError,
    connect,
    from_profile,
    load_identity,
    load_signer,
)
from gateway.profile import read_profile, resolve_endpoint
from gateway.transaction import new_commit_status_request
from network.sandbox import Sandbox

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from registry_fakes import ARETI_EIC, BSP1_EIC, TSO_EIC, participant, pod  # noqa: E402

CHANNEL = "bsp1-channel"
pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def bsp1(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    with from_profile("bsp1", "User1", profile_path) as gw:
        yield gw


@pytest.fixture(scope="module")
def bsp2(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    with from_profile("bsp2", "User1", profile_path) as gw:
        yield gw


def _key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _stranger() -> ECDSASigner:
    """A signer whose key belongs to no certificate of the sandbox."""
    return ECDSASigner(ec.generate_private_key(ec.SECP256R1()))


# ---- evaluate, submit, transient ----------------------------------------------------------------


def test_gateway_submit_then_evaluate_reads_the_committed_value(bsp1: Gateway) -> None:
    contract = bsp1.get_network(CHANNEL).get_contract("smoke")
    key, value = _key("kv"), secrets.token_hex(8)
    assert contract.evaluate_transaction("Get", key) == b""
    assert contract.submit_transaction("Put", key, value) == b""
    assert contract.evaluate_transaction("Get", key) == value.encode()


def test_gateway_submit_returns_the_chaincode_result(bsp1: Gateway) -> None:
    contract = bsp1.get_network(CHANNEL).get_contract("smoke")
    info = json.loads(contract.submit_transaction("TxInfo"))
    assert info["channelId"] == CHANNEL
    # the id the chaincode saw is the one the client computed: it is on the channel's ledger
    record = bsp1.get_network(CHANNEL).get_transaction(info["txId"])
    assert record.transaction_id == info["txId"]
    assert record.validation == "VALID"


def test_gateway_commit_status_names_the_block(bsp1: Gateway) -> None:
    contract = bsp1.get_network(CHANNEL).get_contract("smoke")
    commit = contract.new_proposal("Put", _key("st"), "v").endorse().submit()
    status = commit.get_status()
    assert status.successful and status.code_name == "VALID"
    assert status.transaction_id == commit.transaction_id
    height = bsp1.get_network(CHANNEL).get_chain_info().height
    assert 0 < status.block_number < height


def test_gateway_transient_reaches_chaincode_but_not_the_block(
    bsp1: Gateway, sandbox: Sandbox, profile_path: str
) -> None:
    # A tenant writes into the TSO's collection (member_only_write: false); the value travels
    # as transient data to the member's peer only, and the block keeps only its hash.
    contract = bsp1.get_network(CHANNEL).get_contract("smoke")
    key, secret = _key("pvt"), f"secret-{uuid.uuid4().hex}".encode()
    commit = (
        contract.new_proposal(
            "PutPrivate",
            "tsoPrivate",
            key,
            transient={"value": secret},
            endorsing_organizations=["TSOMSP"],
        )
        .endorse()
        .submit()
    )
    status = commit.get_status()
    assert status.successful
    block = bsp1.get_network(CHANNEL).get_block(status.block_number).SerializeToString()
    assert secret not in block
    assert hashlib.sha256(secret).digest() in block
    with from_profile("tso", "User1", profile_path) as tso:
        tso_contract = tso.get_network(CHANNEL).get_contract("smoke")
        assert tso_contract.evaluate_transaction("GetPrivate", "tsoPrivate", key) == secret
    # member_only_read: the writer is not a member, so it cannot read the value back
    with pytest.raises(GatewayError) as refused:
        contract.evaluate_transaction(
            "GetPrivate", "tsoPrivate", key, endorsing_organizations=["TSOMSP"]
        )
    assert "read access" in refused.value.details[0].message


# ---- errors, provoked for real -------------------------------------------------------------------


def test_gateway_unknown_function_is_an_endorse_error_with_each_peers_reason(
    bsp1: Gateway,
) -> None:
    contract = bsp1.get_network(CHANNEL).get_contract("smoke")
    with pytest.raises(EndorseError) as caught:
        contract.submit_transaction("NoSuchFunction", "x")
    err = caught.value
    assert err.code == "ABORTED"
    assert err.transaction_id and len(err.transaction_id) == 64
    assert err.details, "the gateway must say what the endorsing peer answered"
    detail = err.details[0]
    assert detail.msp_id == "BSPHostMSP"  # the tenant's host peer endorsed first
    assert detail.address.startswith("127.0.0.1:")
    assert (
        "NoSuchFunction" in detail.message and "400" in detail.message
    )  # a bad call: the caller's fault


def test_gateway_unknown_function_on_evaluate_is_a_gateway_error(bsp1: Gateway) -> None:
    contract = bsp1.get_network(CHANNEL).get_contract("smoke")
    with pytest.raises(GatewayError) as caught:
        contract.evaluate_transaction("NoSuchFunction")
    err = caught.value
    assert not isinstance(err, EndorseError)
    assert err.code == "UNKNOWN"  # Fabric: a chaincode error response on Evaluate
    assert [d.msp_id for d in err.details] == ["BSPHostMSP"]
    assert "NoSuchFunction" in err.details[0].message


def test_gateway_chaincode_error_message_reaches_the_client(bsp1: Gateway) -> None:
    contract = bsp1.get_network(CHANNEL).get_contract("smoke")
    reason = f"POD {_key('IT')} is UnderReview; information can change only while Open"
    with pytest.raises(EndorseError) as caught:
        contract.submit_transaction("Fail", reason)
    assert any(reason in d.message for d in caught.value.details)


def test_gateway_other_tenant_is_refused_on_evaluate_and_submit(bsp2: Gateway) -> None:
    contract = bsp2.get_network(CHANNEL).get_contract("smoke")
    with pytest.raises(GatewayError) as on_evaluate:
        contract.evaluate_transaction("Get", "anything")
    # Fabric: preProcess refuses the creator, the gateway relays FAILED_PRECONDITION
    assert on_evaluate.value.code == "FAILED_PRECONDITION"
    assert "access denied" in on_evaluate.value.details[0].message
    # BSP2MSP is no MSP of bsp1-channel: the peer cannot even deserialize the creator
    assert "creator org unknown" in on_evaluate.value.details[0].message

    key = _key("intruder")
    with pytest.raises(EndorseError) as on_submit:
        contract.submit_transaction("Put", key, "v")
    assert on_submit.value.code == "ABORTED"
    assert all("access denied" in d.message for d in on_submit.value.details)


def test_gateway_other_tenant_cannot_read_blocks_or_events(bsp2: Gateway) -> None:
    network = bsp2.get_network(CHANNEL)
    with pytest.raises(EventsError) as forbidden:
        with network.block_events(start_block=0, stop_block=0, timeout=10) as blocks:
            next(iter(blocks))
    assert forbidden.value.code == "FORBIDDEN"  # Deliver's status for a non-member
    with pytest.raises(GatewayError) as caught:
        with network.chaincode_events("smoke", start_block=0, timeout=10) as events:
            next(iter(events))
    assert caught.value.code == "PERMISSION_DENIED"  # Fabric: the Readers ACL of the channel


def _admit_once(contract: Any, record: dict[str, Any]) -> None:
    """Admit a participant unless an earlier test (this session's registry state) did."""
    try:
        contract.submit_transaction("AdmitParticipant", json.dumps(record))
    except EndorseError as exc:
        if not any("already" in d.message for d in exc.details):
            raise


@pytest.fixture(scope="module")
def registry_ready(sandbox: Sandbox, profile_path: str) -> None:
    with from_profile("tso", "User1", profile_path) as tso:
        contract = tso.get_network(CHANNEL).get_contract("registry")
        _admit_once(contract, participant("TSOMSP", TSO_EIC, "TSO", "Terna S.p.A."))
        _admit_once(contract, participant("BSP1MSP", BSP1_EIC, "BSP", "BSP Alfa"))
        _admit_once(
            contract,
            participant("ARETIMSP", ARETI_EIC, "DSO", "Areti S.p.A.", distributorCode="002"),
        )


def test_gateway_concurrent_conflicting_updates_one_commit_error(
    bsp1: Gateway, registry_ready: None
) -> None:
    # Both registrations read "POD absent" at endorsement; only the first ordered may write.
    contract = bsp1.get_network(CHANNEL).get_contract("registry")
    pod_json = json.dumps(pod(f"IT002E{secrets.randbelow(10**8):08d}"))
    endorsed = [contract.new_proposal("RegisterPod", pod_json).endorse() for _ in range(2)]
    commits = [t.submit() for t in endorsed]
    outcomes: list[str] = []
    errors: list[CommitError] = []
    for commit in commits:
        try:
            commit.get_status().raise_for_status()
            outcomes.append("VALID")
        except CommitError as exc:
            errors.append(exc)
            outcomes.append(exc.code_name)
    assert sorted(outcomes) == ["MVCC_READ_CONFLICT", "VALID"]
    (err,) = errors
    assert err.code == 11
    assert err.transaction_id in {c.transaction_id for c in commits}
    assert err.block_number > 0


def test_gateway_submit_signed_by_a_stranger_is_a_submit_error(bsp1: Gateway) -> None:
    contract = bsp1.get_network(CHANNEL).get_contract("smoke")
    endorsed = contract.new_proposal("Put", _key("forged"), "v").endorse()
    forged = bsp1.new_signed_transaction(endorsed.to_bytes(), _stranger()(endorsed.digest()))
    with pytest.raises(SubmitError) as caught:
        forged.submit()
    assert caught.value.code == "ABORTED"
    assert "FORBIDDEN" in caught.value.message
    assert caught.value.transaction_id == endorsed.transaction_id


def test_gateway_commit_status_errors_name_their_cause(bsp1: Gateway) -> None:
    contract = bsp1.get_network(CHANNEL).get_contract("smoke")
    commit = contract.new_proposal("Put", _key("cs"), "v").endorse().submit()
    forged = bsp1.new_signed_commit(commit.to_bytes(), _stranger()(commit.digest()))
    with pytest.raises(CommitStatusError) as refused:
        forged.get_status()
    assert refused.value.code == "PERMISSION_DENIED"
    assert commit.get_status().successful  # the properly signed request still answers

    never_sent = "0" * 64
    request = new_commit_status_request(CHANNEL, never_sent, bsp1.identity.creator)
    pending = bsp1.new_commit(request.SerializeToString())
    with pytest.raises(CommitStatusError) as waited:
        pending.get_status(timeout=1.0)
    assert waited.value.code == "DEADLINE_EXCEEDED"


# ---- offline signing -----------------------------------------------------------------------------


def test_gateway_offline_signing_end_to_end(sandbox: Sandbox, profile_path: str) -> None:
    """No private key in the client process: every digest is signed by a separate signer."""
    ep = resolve_endpoint(read_profile(profile_path), "bsp1", "User1")
    identity = load_identity(ep.msp_id, ep.certificate)
    hsm = load_signer(ep.private_key)  # stands in for the offline signing device
    key, value = _key("offline"), secrets.token_hex(8)
    with connect(
        ep.url,
        identity,
        None,
        tls_root_certificates=ep.tls_ca_certificate,
        hostname_override=ep.hostname,
    ) as gw:
        contract = gw.get_network(CHANNEL).get_contract("smoke")
        unsigned = contract.new_proposal("Put", key, value)
        assert not unsigned.signed
        proposal = gw.new_signed_proposal(unsigned.to_bytes(), hsm(unsigned.digest()))
        assert proposal.transaction_id == unsigned.transaction_id

        unsigned_tx = proposal.endorse()
        assert not unsigned_tx.signed
        transaction = gw.new_signed_transaction(unsigned_tx.to_bytes(), hsm(unsigned_tx.digest()))

        unsigned_commit = transaction.submit()
        commit = gw.new_signed_commit(unsigned_commit.to_bytes(), hsm(unsigned_commit.digest()))
        status = commit.get_status()
        assert status.successful
        assert status.transaction_id == unsigned.transaction_id

        query = contract.new_proposal("Get", key)
        signed_query = gw.new_signed_proposal(query.to_bytes(), hsm(query.digest()))
        assert signed_query.evaluate() == value.encode()


def test_gateway_unsigned_proposal_is_refused_before_sending(
    sandbox: Sandbox, profile_path: str
) -> None:
    ep = resolve_endpoint(read_profile(profile_path), "bsp1", "User1")
    identity = load_identity(ep.msp_id, ep.certificate)
    with connect(
        ep.url,
        identity,
        None,
        tls_root_certificates=ep.tls_ca_certificate,
        hostname_override=ep.hostname,
    ) as gw:
        proposal = gw.get_network(CHANNEL).get_contract("smoke").new_proposal("Get", "k")
        with pytest.raises(IdentityError) as caught:
            proposal.evaluate()
        assert "new_signed_" in str(caught.value)


def test_gateway_config_block_names_the_channels_members_and_their_cas(bsp1: Gateway) -> None:
    from gateway.audit import issued_by, member_ca_certificates
    from gateway.signing import verify_signature

    block = bsp1.get_network("bsp1-channel").get_config_block()
    cas = member_ca_certificates(block)
    assert {"TSOMSP", "BSP1MSP", "ARETIMSP", "RegulatorMSP"} <= set(cas)
    assert "BSP2MSP" not in cas  # not a member of BSP 1's channel
    me = bsp1.identity.certificate
    assert issued_by(me, cas["BSP1MSP"])
    assert not issued_by(me, cas["TSOMSP"])
    # a message signed off the ledger verifies with the identity's key, and only that message
    key = me.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    signature = bsp1.sign_message(b"GET /exchange/documents/x")
    assert verify_signature(key, b"GET /exchange/documents/x", signature)
    assert not verify_signature(key, b"GET /exchange/documents/y", signature)
