from __future__ import annotations

import hashlib

from fabric_protos.common import common_pb2
from test_gateway_helpers import build_chain, issue, new_ca, sign_block

from gateway.audit import (
    block_header_bytes,
    block_header_hash,
    orderer_ca_certificates,
    verify_chain,
)
from gateway.ledger import decode_block


def test_audit_header_bytes_are_fabric_asn1_der() -> None:
    header = common_pb2.BlockHeader(number=1, previous_hash=b"\xaa" * 32, data_hash=b"\xbb" * 32)
    # SEQUENCE { INTEGER 1, OCTET STRING aa*32, OCTET STRING bb*32 }
    expected = bytes.fromhex("3047020101" + "0420" + "aa" * 32 + "0420" + "bb" * 32)
    assert block_header_bytes(header) == expected
    big = common_pb2.BlockHeader(number=128)  # needs a 0x00 pad to stay positive
    assert block_header_bytes(big).startswith(bytes.fromhex("3008" + "02020080"))
    assert block_header_hash(header) == hashlib.sha256(expected).digest()


def _chain():  # type: ignore[no-untyped-def]
    ca = new_ca("ca.orderer.test")
    orderer = issue(ca, "orderer0.orderer.test")
    return ca, orderer, build_chain(3, "OrdererMSP", ca, orderer)


def test_audit_valid_chain_passes_with_signatures_checked() -> None:
    ca, _, blocks = _chain()
    assert list(orderer_ca_certificates(blocks[0])) == ["OrdererMSP"]
    report = verify_chain(blocks)
    assert report.ok, report.findings
    assert (report.first_block, report.last_block, report.blocks_checked) == (0, 2, 3)
    assert report.signatures_checked == 2


def test_audit_altered_data_names_the_block() -> None:
    _, _, blocks = _chain()
    blocks[1].data.data[0] = b"tx-1 (altered)"
    report = verify_chain(blocks)
    assert not report.ok
    assert report.bad_blocks == (1,)
    assert [f.rule for f in report.findings] == ["data-hash"]
    assert str(report.findings[0]).startswith("block 1: data-hash")


def test_audit_rewritten_block_breaks_the_link_to_the_next() -> None:
    _, orderer, blocks = _chain()
    # A forger recomputes block 1's data hash and re-signs it with the orderer's key:
    # block 1 then checks out on its own, but block 2 no longer links to it.
    blocks[1].data.data[0] = b"forged"
    from gateway.audit import block_data_hash

    blocks[1].header.data_hash = block_data_hash(blocks[1].data)
    sign_block(blocks[1], "OrdererMSP", orderer)
    report = verify_chain(blocks)
    assert report.bad_blocks == (2,)
    assert report.findings[0].rule == "previous-hash"


def test_audit_signature_by_a_foreign_ca_is_refused() -> None:
    _, _, blocks = _chain()
    impostor = issue(new_ca("ca.orderer.test"), "orderer0.orderer.test")  # same names, other CA
    sign_block(blocks[2], "OrdererMSP", impostor)
    report = verify_chain(blocks)
    assert report.bad_blocks == (2,)
    assert "was not issued by a CA of OrdererMSP" in report.findings[0].message


def test_audit_missing_block_is_a_numbering_finding() -> None:
    _, _, blocks = _chain()
    report = verify_chain([blocks[0], blocks[2]], orderer_cas={})
    assert {(f.block_number, f.rule) for f in report.findings} == {
        (2, "numbering"),
        (2, "previous-hash"),
    }


def test_audit_decode_block_reports_config_transaction() -> None:
    _, _, blocks = _chain()
    record = decode_block(blocks[0])
    assert record.number == 0 and record.is_config
    assert record.header_hash == bytes(blocks[1].header.previous_hash)
