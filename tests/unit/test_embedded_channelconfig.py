from __future__ import annotations

import pytest
from embedded_fixtures import Chain

from network.embedded.channelconfig import ChannelConfig, ConfigError, parse_duration


def test_channelconfig_reads_orgs_batching_and_acls(chain: Chain) -> None:
    cfg = ChannelConfig.from_block(chain.genesis)
    topo = chain.topology
    assert cfg.channel_id == chain.channel
    assert cfg.sequence == 0
    assert set(cfg.orgs) == {
        "TSOMSP",
        "BSPHostMSP",
        "DSOHostMSP",
        "BSP1MSP",
        "ARETIMSP",
        "RegulatorMSP",
    }
    assert cfg.orgs["TSOMSP"] == [("127.0.0.1", 7051)]
    assert cfg.orgs["BSP1MSP"] == []
    assert cfg.orderer_orgs == ["OrdererMSP"]
    assert cfg.max_message_count == topo.spec.orderer.max_message_count
    assert cfg.preferred_max_bytes == topo.spec.orderer.preferred_max_bytes
    assert cfg.absolute_max_bytes == topo.spec.orderer.absolute_max_bytes
    assert cfg.batch_timeout == pytest.approx(topo.spec.orderer.batch_timeout_seconds)
    assert cfg.policy_ref("peer/Propose", "Writers").startswith("/Channel/Application/")
    assert cfg.policy_ref("not/an/acl", "Readers") == "/Channel/Application/Readers"
    assert "V2_0" in cfg.capabilities["Application"] or cfg.capabilities["Application"]
    assert cfg.is_member("BSP1MSP") and not cfg.is_member("OrdererMSP")
    assert "OrdererMSP" in cfg.msp_manager.msps


@pytest.mark.parametrize(
    ("text", "seconds"), [("250ms", 0.25), ("2s", 2.0), ("1m30s", 90.0), ("1.5s", 1.5), ("0", 0.0)]
)
def test_channelconfig_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_channelconfig_bad_duration_is_named() -> None:
    with pytest.raises(ConfigError, match="'2 seconds' is not a Go duration"):
        parse_duration("2 seconds")
