from __future__ import annotations

from embedded_fixtures import Chain
from fabric_protos.common import common_pb2

from network.embedded import protoutil
from network.embedded.blockfactory import BlockFactory
from network.embedded.channelconfig import ChannelConfig


def test_blockfactory_links_hashes_and_signs_as_the_orderer(chain: Chain) -> None:
    factory = BlockFactory(chain.channel, chain.orderer(), chain.genesis)
    b1 = factory.make_block([b"env1", b"env2"])
    b2 = factory.make_block([b"env3"])
    assert (b1.header.number, b2.header.number) == (1, 2)
    assert b1.header.previous_hash == protoutil.block_header_hash(chain.genesis.header)
    assert b2.header.previous_hash == protoutil.block_header_hash(b1.header)
    assert b1.header.data_hash == protoutil.block_data_hash(b1.data)
    assert len(b1.metadata.metadata) == len(common_pb2.BlockMetadataIndex.keys())

    md = common_pb2.Metadata.FromString(b1.metadata.metadata[common_pb2.SIGNATURES])
    obm = common_pb2.OrdererBlockMetadata.FromString(md.value)
    assert obm.last_config.index == 0
    sig = md.signatures[0]
    shdr = common_pb2.SignatureHeader.FromString(sig.signature_header)
    msps = ChannelConfig.from_block(chain.genesis).msp_manager
    orderer = msps.deserialize_identity(shdr.creator)
    assert orderer.msp_id == "OrdererMSP" and "orderer" in orderer.roles
    signed = md.value + sig.signature_header + protoutil.block_header_bytes(b1.header)
    assert orderer.verify(signed, sig.signature)
    assert protoutil.last_config_index(b1) == 0


def test_blockfactory_config_block_becomes_last_config(chain: Chain) -> None:
    factory = BlockFactory(chain.channel, chain.orderer(), chain.genesis)
    factory.make_block([b"x"])
    config_env = chain.genesis.data.data[0]
    b2 = factory.make_block([config_env])
    b3 = factory.make_block([b"y"])
    assert protoutil.last_config_index(b2) == 2
    assert protoutil.last_config_index(b3) == 2
    resumed = BlockFactory(chain.channel, chain.orderer(), b3)
    assert resumed.last_config == 2 and resumed.next_number == 4
