from __future__ import annotations

import pytest
from embedded_fixtures import Chain

from network.embedded.channelconfig import ChannelConfig
from network.embedded.msp import Identity
from network.embedded.policies import PolicyError, SignedData, evaluate_signature_policy
from network.embedded.policydsl import from_string


@pytest.fixture(scope="module")
def config(chain: Chain) -> ChannelConfig:
    return ChannelConfig.from_block(chain.genesis)


def _ids(chain: Chain, config: ChannelConfig, *who: tuple[str, str]) -> list[Identity]:
    out = []
    for org, name in who:
        signer = chain.peer(org) if name == "peer" else chain.user(org, name)
        out.append(config.msp_manager.deserialize_identity(signer.serialize()))
    return out


def test_policies_out_of_counts_distinct_satisfied_rules(
    chain: Chain, config: ChannelConfig
) -> None:
    env = from_string("OutOf(2, 'TSOMSP.peer', 'BSPHostMSP.peer', 'DSOHostMSP.peer')")
    assert evaluate_signature_policy(env, _ids(chain, config, ("tso", "peer"), ("dsohost", "peer")))
    assert not evaluate_signature_policy(env, _ids(chain, config, ("tso", "peer")))
    assert not evaluate_signature_policy(
        env, _ids(chain, config, ("tso", "peer"), ("bsp1", "User1"))
    )


def test_policies_each_signer_counts_once(chain: Chain, config: ChannelConfig) -> None:
    env = from_string("AND('TSOMSP.member', 'TSOMSP.member')")
    peer = _ids(chain, config, ("tso", "peer"))
    assert not evaluate_signature_policy(env, peer)
    assert not evaluate_signature_policy(env, peer + peer)  # the same identity twice
    assert evaluate_signature_policy(env, _ids(chain, config, ("tso", "peer"), ("tso", "Admin")))


def test_policies_roles_member_peer_admin_client(chain: Chain, config: ChannelConfig) -> None:
    user, admin, peer = _ids(chain, config, ("bsp1", "User1"), ("tso", "Admin"), ("tso", "peer"))
    assert evaluate_signature_policy(from_string("OR('BSP1MSP.client')"), [user])
    assert evaluate_signature_policy(from_string("OR('BSP1MSP.member')"), [user])
    assert not evaluate_signature_policy(from_string("OR('BSP1MSP.admin')"), [user])
    assert evaluate_signature_policy(from_string("OR('TSOMSP.admin')"), [admin])
    assert not evaluate_signature_policy(from_string("OR('TSOMSP.peer')"), [admin])
    assert evaluate_signature_policy(
        from_string("AND('TSOMSP.peer', 'TSOMSP.admin')"), [admin, peer]
    )


def test_policies_an_identity_used_by_one_branch_is_not_reused(
    chain: Chain, config: ChannelConfig
) -> None:
    # The peer satisfies the first OR; the AND then needs another identity for 'TSOMSP.member'.
    env = from_string("AND(OR('TSOMSP.peer'), 'TSOMSP.member')")
    assert not evaluate_signature_policy(env, _ids(chain, config, ("tso", "peer")))
    assert evaluate_signature_policy(env, _ids(chain, config, ("tso", "peer"), ("tso", "User1")))


def _signed(chain: Chain, org: str, name: str, data: bytes = b"data") -> SignedData:
    s = chain.peer(org) if name == "peer" else chain.user(org, name)
    return SignedData(data, s.serialize(), s.sign(data))


def test_policies_implicit_meta_any_writers(chain: Chain, config: ChannelConfig) -> None:
    pm = config.policy_manager
    assert pm.evaluate("/Channel/Application/Writers", [_signed(chain, "bsp1", "User1")])
    assert not pm.evaluate("/Channel/Application/Writers", [_signed(chain, "tso", "peer")])
    assert pm.evaluate("/Channel/Application/Readers", [_signed(chain, "tso", "peer")])


def test_policies_implicit_meta_majority_admins(chain: Chain, config: ChannelConfig) -> None:
    pm = config.policy_manager
    one = [_signed(chain, "tso", "Admin")]
    assert not pm.evaluate("/Channel/Application/Admins", one)
    three = [_signed(chain, o, "Admin") for o in ("tso", "bsphost", "dsohost")]
    assert not pm.evaluate("/Channel/Application/Admins", three)  # 3 of 6 orgs
    four = three + [_signed(chain, "bsp1", "Admin")]
    assert pm.evaluate("/Channel/Application/Admins", four)


def test_policies_auditor_reads_but_never_writes(chain: Chain, config: ChannelConfig) -> None:
    pm = config.policy_manager
    for user in ("User1", "Admin"):
        signed = [_signed(chain, "regulator", user)]
        assert pm.evaluate("/Channel/Application/Readers", signed), user
        assert pm.evaluate("/Channel/Readers", signed), user
        assert not pm.evaluate("/Channel/Application/Writers", signed), user
        assert not pm.evaluate("/Channel/Writers", signed), user


def test_policies_bad_signatures_are_dropped(chain: Chain, config: ChannelConfig) -> None:
    good = _signed(chain, "bsp1", "User1")
    forged = SignedData(b"data", good.identity, chain.user("bsp1", "Admin").sign(b"data"))
    assert not config.policy_manager.evaluate("/Channel/Application/Writers", [forged])
    assert config.policy_manager.evaluate("/Channel/Application/Writers", [forged, good])


def test_policies_relative_paths_and_missing_policy(chain: Chain, config: ChannelConfig) -> None:
    pm = config.policy_manager
    assert pm.get_policy("Application/Writers") is pm.get_policy("/Channel/Application/Writers")
    with pytest.raises(PolicyError, match="/Channel/Application/Nope does not exist"):
        pm.evaluate("/Channel/Application/Nope", [])
