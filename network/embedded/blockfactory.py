"""Block assembly and the orderer's signature, as Fabric's orderer BlockWriter writes them.

Each block links to the previous header hash, carries SHA-256 of its data, and gets SIGNATURES
metadata: value = OrdererBlockMetadata{LastConfig, ConsenterMetadata}, one MetadataSignature
whose signature covers value + signature header + DER header bytes. LAST_CONFIG metadata is
also written, as v2 orderers did, for clients that still read it.
"""

from __future__ import annotations

import threading
from typing import Protocol

from fabric_protos.common import common_pb2

from . import protoutil


class Signer(Protocol):
    def serialize(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


def is_config_envelope(env_bytes: bytes) -> bool:
    try:
        env = common_pb2.Envelope.FromString(env_bytes)
        payload = common_pb2.Payload.FromString(env.payload)
        chdr = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    except Exception:  # noqa: BLE001 - anything unparsable is not a config tx
        return False
    return chdr.type == common_pb2.CONFIG


class BlockFactory:
    def __init__(self, channel_id: str, signer: Signer, last_block: common_pb2.Block) -> None:
        self.channel_id = channel_id
        self.signer = signer
        self._lock = threading.Lock()
        self.next_number = last_block.header.number + 1
        self.previous_hash = protoutil.block_header_hash(last_block.header)
        if last_block.header.number == 0 or (
            len(last_block.data.data) == 1 and is_config_envelope(last_block.data.data[0])
        ):
            self.last_config = last_block.header.number
        else:
            self.last_config = protoutil.last_config_index(last_block)

    def make_block(self, envelopes: list[bytes]) -> common_pb2.Block:
        with self._lock:
            block = protoutil.new_block(self.next_number, self.previous_hash)
            block.data.data.extend(envelopes)
            block.header.data_hash = protoutil.block_data_hash(block.data)
            if len(envelopes) == 1 and is_config_envelope(envelopes[0]):
                self.last_config = block.header.number
            self._sign(block)
            self.next_number += 1
            self.previous_hash = protoutil.block_header_hash(block.header)
            return block

    def _sign(self, block: common_pb2.Block) -> None:
        last_config = common_pb2.LastConfig(index=self.last_config)
        value = common_pb2.OrdererBlockMetadata(
            last_config=last_config,
            consenter_metadata=common_pb2.Metadata(value=b"").SerializeToString(),
        ).SerializeToString()
        sig_header = protoutil.make_signature_header(
            self.signer.serialize(), protoutil.new_nonce()
        ).SerializeToString()
        signature = self.signer.sign(
            value + sig_header + protoutil.block_header_bytes(block.header)
        )
        block.metadata.metadata[common_pb2.SIGNATURES] = common_pb2.Metadata(
            value=value,
            signatures=[
                common_pb2.MetadataSignature(signature_header=sig_header, signature=signature)
            ],
        ).SerializeToString()
        block.metadata.metadata[common_pb2.LAST_CONFIG] = common_pb2.Metadata(
            value=last_config.SerializeToString()
        ).SerializeToString()
