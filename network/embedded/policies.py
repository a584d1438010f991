"""Policy evaluation as Fabric's `common/cauthdsl` and `common/policies` do it.

Signature policies: each NOutOf counts sub-rules satisfied, and one identity satisfies at most one
`SignedBy` leaf along the successful branches (Fabric's `used` bitmap), so "AND('A.member',
'A.member')" needs two distinct signers. Signed data is first reduced to the set of distinct,
deserialisable identities whose signature verifies (Fabric's SignatureSetToValidIdentities).

ImplicitMeta policies (ANY/ALL/MAJORITY of a sub-policy name across child groups) are resolved
from the channel config tree; with no children the threshold is 0, as in Fabric.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from fabric_protos.common import configtx_pb2, policies_pb2

from .msp import Identity, MSPError, MSPManager

log = logging.getLogger(__name__)


class PolicyError(ValueError):
    """A policy is malformed or names something that does not exist."""


@dataclass(frozen=True, slots=True)
class SignedData:
    data: bytes
    identity: bytes
    signature: bytes


def evaluate_signature_policy(
    env: policies_pb2.SignaturePolicyEnvelope, signers: list[Identity]
) -> bool:
    """True when the distinct `signers` satisfy the envelope; each identity is used at most once."""
    unique: list[Identity] = []
    seen: set[bytes] = set()
    for ident in signers:
        if ident.serialized not in seen:
            seen.add(ident.serialized)
            unique.append(ident)
    used = [False] * len(unique)
    return _eval_rule(env.rule, env, unique, used)


def _eval_rule(
    rule: policies_pb2.SignaturePolicy,
    env: policies_pb2.SignaturePolicyEnvelope,
    ids: list[Identity],
    used: list[bool],
) -> bool:
    kind = rule.WhichOneof("Type")
    if kind == "signed_by":
        if not 0 <= rule.signed_by < len(env.identities):
            raise PolicyError(
                f"signature policy refers to identity {rule.signed_by} of {len(env.identities)}"
            )
        principal = env.identities[rule.signed_by]
        for i, ident in enumerate(ids):
            if used[i]:
                continue
            if ident.satisfies_principal(principal):
                used[i] = True
                return True
        return False
    if kind == "n_out_of":
        verified = 0
        scratch = list(used)
        for sub in rule.n_out_of.rules:
            scratch[:] = used
            if _eval_rule(sub, env, ids, scratch):
                verified += 1
                used[:] = scratch
        return verified >= rule.n_out_of.n
    raise PolicyError("signature policy rule has neither signed_by nor n_out_of")


def valid_identities(msp_manager: MSPManager, signed: list[SignedData]) -> list[Identity]:
    """Distinct identities whose signatures verify; bad ones are dropped, as Fabric does."""
    out: list[Identity] = []
    seen: set[bytes] = set()
    for sd in signed:
        if sd.identity in seen:
            continue
        try:
            ident = msp_manager.deserialize_identity(sd.identity)
        except MSPError as exc:
            log.debug("dropping signature: %s", exc)
            continue
        if not ident.verify(sd.data, sd.signature):
            log.debug("dropping signature of %r: it does not verify", ident)
            continue
        seen.add(sd.identity)
        out.append(ident)
    return out


class Policy(Protocol):
    def evaluate_signed_data(self, signed: list[SignedData]) -> bool: ...

    def evaluate_identities(self, identities: list[Identity]) -> bool: ...


@dataclass
class SignaturePolicy:
    envelope: policies_pb2.SignaturePolicyEnvelope
    msp_manager: MSPManager

    def evaluate_signed_data(self, signed: list[SignedData]) -> bool:
        return self.evaluate_identities(valid_identities(self.msp_manager, signed))

    def evaluate_identities(self, identities: list[Identity]) -> bool:
        return evaluate_signature_policy(self.envelope, identities)


@dataclass
class ImplicitMetaPolicy:
    rule: int
    sub_policy: str
    resolve: Callable[[], list[Policy]]
    msp_manager: MSPManager | None = None

    def _threshold(self, n: int) -> int:
        if n == 0:
            return 0
        if self.rule == policies_pb2.ImplicitMetaPolicy.ANY:
            return 1
        if self.rule == policies_pb2.ImplicitMetaPolicy.ALL:
            return n
        return n // 2 + 1

    def _count(self, check: Callable[[Policy], bool]) -> bool:
        subs = self.resolve()
        need = self._threshold(len(subs))
        if need == 0:
            return True
        ok = 0
        for sub in subs:
            if check(sub):
                ok += 1
                if ok >= need:
                    return True
        return False

    def evaluate_signed_data(self, signed: list[SignedData]) -> bool:
        if self.msp_manager is not None:
            # Verify the signatures once, not once per org's sub-policy.
            return self.evaluate_identities(valid_identities(self.msp_manager, signed))
        return self._count(lambda p: p.evaluate_signed_data(signed))

    def evaluate_identities(self, identities: list[Identity]) -> bool:
        return self._count(lambda p: p.evaluate_identities(identities))


@dataclass
class RejectPolicy:
    reason: str

    def evaluate_signed_data(self, signed: list[SignedData]) -> bool:
        return False

    def evaluate_identities(self, identities: list[Identity]) -> bool:
        return False


@dataclass
class PolicyManager:
    """The policy tree of a channel config: policies by name, and child managers by group name."""

    name: str
    policies: dict[str, Policy] = field(default_factory=dict)
    children: dict[str, PolicyManager] = field(default_factory=dict)

    @classmethod
    def from_group(
        cls, name: str, group: configtx_pb2.ConfigGroup, msp_manager: MSPManager
    ) -> PolicyManager:
        mgr = cls(name=name)
        for child_name, child in group.groups.items():
            mgr.children[child_name] = cls.from_group(child_name, child, msp_manager)
        for pname, cp in group.policies.items():
            mgr.policies[pname] = mgr._build(pname, cp.policy, msp_manager)
        return mgr

    def _build(self, pname: str, pol: policies_pb2.Policy, msps: MSPManager) -> Policy:
        if pol.type == policies_pb2.Policy.SIGNATURE:
            env = policies_pb2.SignaturePolicyEnvelope.FromString(pol.value)
            return SignaturePolicy(env, msps)
        if pol.type == policies_pb2.Policy.IMPLICIT_META:
            imp = policies_pb2.ImplicitMetaPolicy.FromString(pol.value)
            children = self.children

            def resolve(sub: str = imp.sub_policy) -> list[Policy]:
                return [c.policies[sub] for c in children.values() if sub in c.policies]

            return ImplicitMetaPolicy(imp.rule, imp.sub_policy, resolve, msps)
        log.warning("policy %s/%s has unsupported type %d; it rejects", self.name, pname, pol.type)
        return RejectPolicy(f"unsupported policy type {pol.type}")

    def get_policy(self, path: str) -> Policy | None:
        parts = [p for p in path.split("/") if p]
        if path.startswith("/"):
            if not parts or parts[0] != self.name:
                return None
            parts = parts[1:]
        mgr = self
        for p in parts[:-1]:
            child = mgr.children.get(p)
            if child is None:
                return None
            mgr = child
        return mgr.policies.get(parts[-1]) if parts else None

    def evaluate(self, path: str, signed: list[SignedData]) -> bool:
        policy = self.get_policy(path)
        if policy is None:
            raise PolicyError(f"policy {path} does not exist in channel config")
        return policy.evaluate_signed_data(signed)

    def evaluate_identities(self, path: str, identities: list[Identity]) -> bool:
        policy = self.get_policy(path)
        if policy is None:
            raise PolicyError(f"policy {path} does not exist in channel config")
        return policy.evaluate_identities(identities)
