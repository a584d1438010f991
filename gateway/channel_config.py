"""A channel's configuration as an auditor reads it: who is a member, who may read, who may write.

Decodes the `common.Config` of a config block (the genesis block, or a later config update)
into plain data, with each signature policy written in Fabric's policy language
(`OR('TSOMSP.admin', 'TSOMSP.client')`), so that a reader can see from the ledger itself which
organisations the channel's Readers and Writers policies admit. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_config_pb2, msp_principal_pb2
from fabric_protos.peer import configuration_pb2 as peer_configuration_pb2

from gateway.audit import _parse, config_from_block

_ROLES = {0: "member", 1: "admin", 2: "client", 3: "peer", 4: "orderer"}
_RULES = {0: "ANY", 1: "ALL", 2: "MAJORITY"}


@dataclass(frozen=True)
class OrgConfig:
    """One organisation of the channel: its MSP and its own policies, as policy text."""

    msp_id: str
    group: str  # Application or Orderer
    policies: dict[str, str] = field(default_factory=dict)
    anchor_peers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelConfigRecord:
    sequence: int
    orgs: tuple[OrgConfig, ...]
    policies: dict[str, str]  # the channel-level and Application-level policies, by path
    acls: dict[str, str]

    def org(self, msp_id: str) -> OrgConfig | None:
        return next((o for o in self.orgs if o.msp_id == msp_id), None)


def _principal(p: Any) -> str:
    if p.principal_classification == msp_principal_pb2.MSPPrincipal.ROLE:
        role = _parse(msp_principal_pb2.MSPRole, p.principal, "MSP role")
        return f"'{role.msp_identifier}.{_ROLES.get(role.role, str(role.role))}'"
    if p.principal_classification == msp_principal_pb2.MSPPrincipal.ORGANIZATION_UNIT:
        ou = _parse(msp_principal_pb2.OrganizationUnit, p.principal, "organisation unit")
        return f"'{ou.msp_identifier}.OU:{ou.organizational_unit_identifier}'"
    return "'<identity>'"


def _rule(rule: Any, principals: list[str]) -> str:
    if rule.WhichOneof("Type") == "signed_by":
        index = int(rule.signed_by)
        return principals[index] if 0 <= index < len(principals) else "'<unknown>'"
    subs = [_rule(r, principals) for r in rule.n_out_of.rules]
    n = int(rule.n_out_of.n)
    if n == 1 and subs:
        return f"OR({', '.join(subs)})"
    if n == len(subs):
        return f"AND({', '.join(subs)})"
    return f"OutOf({n}, {', '.join(subs)})"


def signature_policy_text(envelope: Any) -> str:
    """A `SignaturePolicyEnvelope` in Fabric's policy language: AND('A.peer', OR(...))."""
    return _rule(envelope.rule, [_principal(i) for i in envelope.identities])


def policy_text(policy: Any) -> str:
    """A `common.Policy` as Fabric's policy language, or `ANY Readers` for an implicit meta."""
    if policy.type == policies_pb2.Policy.SIGNATURE:
        env = _parse(policies_pb2.SignaturePolicyEnvelope, policy.value, "signature policy")
        return signature_policy_text(env)
    if policy.type == policies_pb2.Policy.IMPLICIT_META:
        meta = _parse(policies_pb2.ImplicitMetaPolicy, policy.value, "implicit meta policy")
        return f"{_RULES.get(meta.rule, str(meta.rule))} {meta.sub_policy}"
    return f"policy of type {policy.type}"


def _org(name: str, group: Any, kind: str) -> OrgConfig:
    msp_id = name
    msp_value = group.values.get("MSP")
    if msp_value is not None:
        msp = _parse(msp_config_pb2.MSPConfig, msp_value.value, "MSP config")
        msp_id = _parse(msp_config_pb2.FabricMSPConfig, msp.config, "Fabric MSP config").name
    anchors: tuple[str, ...] = ()
    anchor_value = group.values.get("AnchorPeers")
    if anchor_value is not None:
        decoded = _parse(peer_configuration_pb2.AnchorPeers, anchor_value.value, "anchor peers")
        anchors = tuple(f"{a.host}:{a.port}" for a in decoded.anchor_peers)
    return OrgConfig(
        msp_id=msp_id,
        group=kind,
        policies={k: policy_text(v.policy) for k, v in sorted(group.policies.items())},
        anchor_peers=anchors,
    )


def decode_channel_config(block: Any) -> ChannelConfigRecord:
    """The configuration a config block carries (`ProtocolError` if it is not one)."""
    config = config_from_block(block)
    root = config.channel_group
    orgs: list[OrgConfig] = []
    policies: dict[str, str] = {
        f"/Channel/{k}": policy_text(v.policy) for k, v in sorted(root.policies.items())
    }
    acls: dict[str, str] = {}
    for kind in ("Application", "Orderer"):
        group = root.groups.get(kind)
        if group is None:
            continue
        for k, v in sorted(group.policies.items()):
            policies[f"/Channel/{kind}/{k}"] = policy_text(v.policy)
        for name, org_group in sorted(group.groups.items()):
            orgs.append(_org(name, org_group, kind))
        if kind == "Application" and "ACLs" in group.values:
            decoded = _parse(peer_configuration_pb2.ACLs, group.values["ACLs"].value, "ACLs")
            acls = {k: v.policy_ref for k, v in sorted(decoded.acls.items())}
    return ChannelConfigRecord(
        sequence=int(config.sequence), orgs=tuple(orgs), policies=policies, acls=acls
    )
