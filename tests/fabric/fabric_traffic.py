"""Traffic that gives a ledger every validation code the engine produces, for the fabric tier.

Through the project's gateway client as the network's users: writes, reads, deletes, events,
private data (an explicit collection and two orgs' implicit ones), a stale read
(MVCC_READ_CONFLICT), a stale range read (PHANTOM_READ_CONFLICT), endorsements short of the
chaincode's and of a key's policy (ENDORSEMENT_POLICY_FAILURE), one transaction submitted twice
(DUPLICATE_TXID), a submitted system chaincode call (INVALID_CHAINCODE), and the registry's POD
journey across BSP, TSO and DSO. Each step waits until every peer of its channel committed it,
so the next actor endorses on current state.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from gateway import CommitError, EndorseError, Gateway, from_profile
from network.embedded.policydsl import from_string

BSP1 = "bsp1-channel"
TSO_EIC = "10X1001A1001A345"
BSP1_EIC = "10XIT-BSP-ALFA-U"
ARETI_EIC = "10XIT-ARETI----C"
PARTICIPANTS = [
    {"mspId": "TSOMSP", "eic": TSO_EIC, "role": "TSO", "name": "Terna S.p.A."},
    {"mspId": "BSP1MSP", "eic": BSP1_EIC, "role": "BSP", "name": "BSP Alfa Energia"},
    {
        "mspId": "ARETIMSP",
        "eic": ARETI_EIC,
        "role": "DSO",
        "name": "Areti",
        "distributorCode": "002",
    },
]
# the gateways whose peers hold each channel: every one must commit a step before the next
CHANNEL_ORGS = {
    "bsp1-channel": ("tso", "bsp1", "areti"),
    "bsp2-channel": ("tso", "bsp2", "areti"),
    "p2p-trading": ("tso", "evusers"),
}


class Traffic:
    def __init__(self, profile: str) -> None:
        self.profile = profile
        self._stack = ExitStack()
        self.gateways: dict[str, Gateway] = {}
        self.run = uuid.uuid4().hex[:6]
        self.codes: list[str] = []  # every commit code this traffic produced, in order

    def __enter__(self) -> Traffic:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def gw(self, org: str) -> Gateway:
        if org not in self.gateways:
            self.gateways[org] = self._stack.enter_context(from_profile(org, "User1", self.profile))
        return self.gateways[org]

    def contract(self, org: str, name: str, channel: str = BSP1) -> Any:
        return self.gw(org).get_network(channel).get_contract(name)

    def settle(self, channel: str, block: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for org in CHANNEL_ORGS[channel]:
            network = self.gw(org).get_network(channel)
            while network.get_chain_info().height <= block:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{org}'s peer never reached block {block} of {channel}")
                time.sleep(0.05)

    def submit(self, tx: Any, channel: str = BSP1) -> str:
        """Submit an endorsed transaction; returns its code once every peer committed it."""
        return str(self.submit_status(tx, channel).code_name)

    def submit_status(self, tx: Any, channel: str = BSP1) -> Any:
        status = tx.submit().get_status()
        self.settle(channel, status.block_number)
        self.codes.append(status.code_name)
        return status

    def call(self, org: str, cc: str, fn: str, *args: str, channel: str = BSP1, **kw: Any) -> str:
        proposal = self.contract(org, cc, channel).new_proposal(fn, *args, **kw)
        return self.submit(proposal.endorse(), channel)

    # --- the scenario ---------------------------------------------------------------------------

    def everything(self) -> None:
        self.smoke_codes()
        self.private_data()
        self.registry_journey()
        self.other_channels()

    def smoke_codes(self) -> None:
        k = f"t-{self.run}"
        assert self.call("tso", "smoke", "Put", k, "v1") == "VALID"
        assert self.call("tso", "smoke", "Put", f"{k}-gone", "x") == "VALID"
        assert self.call("tso", "smoke", "Delete", f"{k}-gone") == "VALID"
        smoke = self.contract("tso", "smoke")
        stale = smoke.new_proposal("Get", k).endorse()
        assert self.call("tso", "smoke", "Put", k, "v2") == "VALID"
        assert self.submit(stale) == "MVCC_READ_CONFLICT"
        scan = smoke.new_proposal("Range", f"{k}-r", f"{k}-s").endorse()
        assert self.call("tso", "smoke", "Put", f"{k}-r1", "in range") == "VALID"
        assert self.submit(scan) == "PHANTOM_READ_CONFLICT"
        # a key whose own policy needs the DSO host's peer, then a write the TSO's peer endorses
        kle = f"{k}-kle"
        policy = base64.b64encode(from_string("OR('DSOHostMSP.peer')").SerializeToString()).decode()
        assert self.call("tso", "smoke", "Put", kle, "v0") == "VALID"
        assert (
            self.call(
                "tso", "smoke", "SetKeyPolicy", kle, policy, endorsing_organizations=["DSOHostMSP"]
            )
            == "VALID"
        )
        # a key-level policy on a key that does not exist is dropped, as Fabric drops it
        assert self.call("tso", "smoke", "SetKeyPolicy", f"{k}-none", policy) == "VALID"
        assert (
            self.call("tso", "smoke", "Put", kle, "v1", endorsing_organizations=["TSOMSP"])
            == "ENDORSEMENT_POLICY_FAILURE"
        )
        assert (
            self.call("tso", "smoke", "Put", kle, "v2", endorsing_organizations=["DSOHostMSP"])
            == "VALID"
        )
        once = smoke.new_proposal("Put", f"{k}-dup", "once").endorse()
        first = self.submit_status(once)
        assert first.code_name == "VALID"
        again = once.submit()  # the same signed envelope ordered a second time
        block = _block_holding_copy(
            self.gw("tso"), BSP1, once.transaction_id, again, first.block_number
        )
        self.settle(BSP1, block)
        self.codes.append("DUPLICATE_TXID")
        assert self.call("tso", "smoke", "EmitEvent", "Settled", f"run {self.run}") == "VALID"
        qscc = self.contract("tso", "qscc")
        assert self.submit(qscc.new_proposal("GetChainInfo", BSP1).endorse()) == "INVALID_CHAINCODE"
        try:
            self.call("tso", "smoke", "Fail", "refused on purpose")
        except EndorseError:
            pass  # a chaincode error: nothing reaches the ledger
        else:
            raise AssertionError("Fail was endorsed")

    def private_data(self) -> None:
        k = f"p-{self.run}"
        # a write to an org's implicit collection needs that org's peer (its Endorsement policy)
        for coll, org in (
            ("tsoPrivate", "TSOMSP"),
            ("_implicit_org_TSOMSP", "TSOMSP"),
            ("_implicit_org_BSPHostMSP", "BSPHostMSP"),
        ):
            code = self.call(
                "tso",
                "smoke",
                "PutPrivate",
                coll,
                k,
                transient={"value": f"secret {coll}"},
                endorsing_organizations=[org],
            )
            assert code == "VALID", coll

    def registry_journey(self) -> None:
        for body in PARTICIPANTS:
            try:
                self.call("tso", "registry", "AdmitParticipant", json.dumps(body))
            except EndorseError as exc:
                if "AlreadyExists" not in str(exc):
                    raise
        code = f"IT002E{uuid.uuid4().int % 10**8:08d}"
        # the registry needs the TSO's peer and a host's: the TSO's alone falls short
        short = self.contract("bsp1", "registry").new_proposal(
            "RegisterPod", json.dumps(_pod(code)), endorsing_organizations=["TSOMSP"]
        )
        assert self.submit(short.endorse()) == "ENDORSEMENT_POLICY_FAILURE"
        steps: list[tuple[str, str, tuple[str, ...]]] = [
            ("bsp1", "RegisterPod", (json.dumps(_pod(code)),)),
            ("bsp1", "RegisterDevice", (json.dumps(_charger(code, f"{code}-EVSE-1")),)),
            ("bsp1", "CreateAttachment", (json.dumps(_diagram(code)),)),
            ("bsp1", "UpdatePodStatus", (_status(code, "UnderReview"),)),
            ("tso", "UpdatePodStatus", (_status(code, "PreValidated"),)),
            ("areti", "SetPodConstraints", (code, json.dumps({"maximumFlexUp": 90.0}))),
            ("areti", "UpdatePodStatus", (_status(code, "Validated"),)),
        ]
        for org, fn, args in steps:
            assert self.call(org, "registry", fn, *args) == "VALID", fn

    def other_channels(self) -> None:
        for channel in ("bsp2-channel", "p2p-trading"):
            key = f"o-{self.run}"
            assert self.call("tso", "smoke", "Put", key, channel, channel=channel) == "VALID"

    def live(self, n: int = 5) -> None:
        """Traffic after a partner's peer joined: it must keep following."""
        for i in range(n):
            assert self.call("tso", "smoke", "Put", f"live-{self.run}-{i}", str(i)) == "VALID"
        assert (
            self.call("tso", "smoke", "Put", f"live-{self.run}", "x", channel="bsp2-channel")
            == "VALID"
        )


def _block_holding_copy(gw: Gateway, channel: str, txid: str, commit: Any, start: int) -> int:
    """The block of the second copy of `txid` (its status is the first copy's)."""
    try:
        commit.get_status()
    except CommitError:
        pass
    network = gw.get_network(channel)
    deadline = time.monotonic() + 30
    seen = 0
    while time.monotonic() < deadline:
        height = network.get_chain_info().height
        for n in range(start, height):
            block = network.get_block(n)
            for env in block.data.data:
                if _txid(env) == txid:
                    seen += 1
                    if seen == 2:
                        return n
        seen = 0
        time.sleep(0.2)
    raise AssertionError(f"the second copy of {txid} never reached a block")


def _txid(env_bytes: bytes) -> str:
    from fabric_protos.common import common_pb2

    env = common_pb2.Envelope.FromString(env_bytes)
    payload = common_pb2.Payload.FromString(env.payload)
    return str(common_pb2.ChannelHeader.FromString(payload.header.channel_header).tx_id)


def _pod(code: str) -> dict[str, Any]:
    return {
        "registrationPeriod": 1772355600,
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "flexibilityServiceProviderId": BSP1_EIC,
        "flexibilityServiceProviderCodingSchemeType": "A01",
        "meteringPointId": code,
        "resourceType": "GridConnectionPoint",
        "status": "registered",
        "resourceName": "Parking Ostiense",
        "direction": "consumption",
        "contractedPower": 200.0,
        "maximumFlexUp": 120.0,
        "maximumFlexDown": 100.0,
        "gridVoltageLevel": "MV",
        "distributionGridOperatorName": ARETI_EIC,
        "startDateTime": "2026-03-01T00:00:00Z",
    }


def _charger(code: str, device_id: str) -> dict[str, Any]:
    keep = ("registration", "receiver", "flex")
    return {
        **{k: v for k, v in _pod(code).items() if k.startswith(keep)},
        "resourceId": device_id,
        "parentResourceId": code,
        "deviceType": "EVSE",
        "resourceName": f"Charger {device_id}",
        "resourceType": "EV charger",
        "direction": "consumption",
        "contractedPower": 22.0,
        "maximumFlexUp": 22.0,
        "maximumFlexDown": 22.0,
        "startDateTime": "2026-03-01T00:00:00Z",
    }


def _diagram(code: str) -> dict[str, Any]:
    return {
        "meteringPointId": code,
        "senderId": BSP1_EIC,
        "senderCodingSchemeType": "A01",
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "externalDocumentId": "single-line-diagram.pdf",
        "documentType": "SingleLineDiagram",
        "mimeType": "application/pdf",
        "documentFile": base64.b64encode(b"%PDF-1.7\n% single-line diagram\n").decode(),
    }


def _status(code: str, target: str) -> str:
    return json.dumps({"flexResourceId": code, "status": target})


Step = Callable[[], None]
