"""The auditor (the regulator) is a Reader of every channel and a Writer of none, on the
ledger itself: it reads every block of every channel and verifies the chain, and whatever it
signs is refused by the channel's Writers policy, at the peers (the peer/Propose ACL) and at
the orderer (Broadcast), whatever the pages or the connector would let it do.

Runs on the embedded engine, and on real Fabric with CBP_TEST_ENGINE=fabric."""

from __future__ import annotations

import json

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2

from gateway import EndorseError, SubmitError, from_profile
from gateway.proposal import TransactionContext

AUDITOR = "regulator"


def _channels(profile_path: str) -> list[str]:
    profile = json.loads(open(profile_path).read())
    return sorted(c for c, spec in profile["channels"].items() if AUDITOR in spec["orgs"])


def test_auditor_is_on_every_channel(profile_path: str) -> None:
    profile = json.loads(open(profile_path).read())
    assert _channels(profile_path) == sorted(profile["channels"])
    assert profile["organizations"][AUDITOR]["role"] == "AUDITOR"
    assert profile["organizations"][AUDITOR]["peers"] == []


@pytest.mark.parametrize("user", ["User1", "Admin"])
def test_auditor_reads_and_verifies_every_channel(profile_path: str, user: str) -> None:
    with from_profile(AUDITOR, user, profile_path) as gw:
        for channel in _channels(profile_path):
            network = gw.get_network(channel)
            height = network.get_chain_info().height
            assert height >= 1
            blocks = list(network.iter_blocks(0, height - 1))  # Deliver, the Readers policy
            assert [int(b.header.number) for b in blocks] == list(range(height))
            report = network.audit_chain()
            assert report.ok, report.findings
            assert report.blocks_checked == height


@pytest.mark.parametrize("user", ["User1", "Admin"])
def test_auditor_proposal_refused_by_the_writers_policy(
    profile_path: str, registry_ready: None, user: str
) -> None:
    with from_profile(AUDITOR, user, profile_path) as gw:
        for channel in _channels(profile_path):
            network = gw.get_network(channel)
            before = network.get_chain_info().height
            contract = network.get_contract("smoke")
            with pytest.raises(EndorseError) as refused:
                contract.submit_transaction("Put", f"auditor-{user}", "must not be written")
            text = str(refused.value) + " ".join(d.message for d in refused.value.details)
            # the peer/Propose ACL: the channel's Writers (both engines name the policy)
            assert "/Channel/Application/Writers" in text, text
            assert network.get_chain_info().height == before


def _envelope_signed_by(gw, prepared: bytes):  # type: ignore[no-untyped-def]
    """An endorsed transaction re-made as one created and signed by `gw`'s identity."""
    tx = gateway_pb2.PreparedTransaction.FromString(prepared)
    payload = common_pb2.Payload.FromString(tx.envelope.payload)
    context = TransactionContext.new(gw.identity.creator)
    header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    header.tx_id = context.transaction_id
    payload.header.channel_header = header.SerializeToString()
    payload.header.signature_header = context.signature_header().SerializeToString()
    tx.envelope.payload = payload.SerializeToString()
    tx.envelope.signature = b""
    tx.transaction_id = context.transaction_id
    return gw.new_transaction(tx.SerializeToString())  # signed with gw's key


def test_auditor_transaction_refused_by_the_orderer(
    profile_path: str, registry_ready: None
) -> None:
    """The orderer checks every envelope against the channel's Writers policy: an auditor's is
    FORBIDDEN there too, while the same transaction sent by its writer is ordered."""
    channel = "bsp1-channel"
    with from_profile("bsp1", "User1", profile_path) as writer:
        contract = writer.get_network(channel).get_contract("smoke")
        endorsed = contract.new_proposal("Put", "auditor-check", "1").endorse()
        prepared = endorsed.to_bytes()
        with from_profile(AUDITOR, "Admin", profile_path) as auditor:
            network = auditor.get_network(channel)
            before = network.get_chain_info().height
            forged = _envelope_signed_by(auditor, prepared)
            with pytest.raises(SubmitError) as refused:
                forged.submit()
            assert "FORBIDDEN" in str(refused.value), str(refused.value)
            assert network.get_chain_info().height == before
        status = endorsed.submit().get_status()  # the control: the writer's own goes through
        assert status.successful
