"""ClientIdentity from the proposal creator: MSP id, Node-style id, Fabric CA attributes."""

from __future__ import annotations

import json

import pytest

from chaincode.runtime import ChaincodeError, ClientIdentity, ContractRouter
from chaincode.runtime.testing import FakePeer, make_creator
from chaincode.smoke import SmokeContract


def test_chaincode_identity_reads_msp_id_id_and_attributes() -> None:
    creator = make_creator(
        "BSP1MSP",
        "User1@bsp1.cbp.local",
        {"role": "BSP", "eic": "10XIT-BSP-ALFA-U"},
        organization="bsp1.cbp.local",
    )
    identity = ClientIdentity(creator)
    assert identity.get_msp_id() == "BSP1MSP"
    assert identity.get_id() == (
        "x509::/C=IT/O=bsp1.cbp.local/OU=client/CN=User1@bsp1.cbp.local"
        "::/C=IT/O=bsp1.cbp.local/CN=ca.bsp1.cbp.local"
    )
    assert identity.get_attribute_value("role") == "BSP"
    assert identity.get_attribute_value("missing") is None
    assert identity.assert_attribute_value("eic", "10XIT-BSP-ALFA-U") is True
    with pytest.raises(ChaincodeError, match="attribute 'role' is 'BSP'; 'TSO' is required"):
        identity.assert_attribute_value("role", "TSO")
    with pytest.raises(ChaincodeError, match="has no attribute 'hf.Type'"):
        identity.assert_attribute_value("hf.Type", "client")
    cert = identity.get_x509_certificate()
    assert cert.subject.rfc4514_string().startswith("CN=User1@bsp1.cbp.local")


def test_chaincode_identity_without_attribute_extension_has_no_attributes() -> None:
    identity = ClientIdentity(make_creator("TSOMSP", "Admin@tso.cbp.local"))
    assert identity.get_attributes() == {}


def test_chaincode_identity_rejects_non_certificate_creator() -> None:
    from fabric_protos.msp import identities_pb2

    creator = identities_pb2.SerializedIdentity(
        mspid="X", id_bytes=b"not a pem"
    ).SerializeToString()
    with pytest.raises(ChaincodeError, match="MSP X is not an X.509 PEM certificate"):
        ClientIdentity(creator)


def test_chaincode_identity_whoami_through_the_runtime() -> None:
    creator = make_creator("ARETIMSP", "User1@areti.cbp.local", {"role": "DSO"})
    with FakePeer(ContractRouter([SmokeContract]), creator=creator) as peer:
        who = json.loads(peer.invoke("Whoami").payload)
    assert who["mspId"] == "ARETIMSP"
    assert who["attrs"] == {"role": "DSO"}
    assert who["id"].startswith("x509::/C=IT/")
