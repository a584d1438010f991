"""Fabric's signature-policy language: `AND('A.peer', OR('B.member', 'C.admin'))`, `OutOf(2, ...)`.

The envelope is built as Fabric's `common/policydsl` builds it: AND is 2-of/n-of all, OR is 1-of,
and each principal occurrence gets its own identity slot (Fabric does not deduplicate them), so a
policy parsed here marshals to the same bytes as one parsed by `peer` or `configtxgen`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

_ROLES = {
    "member": msp_principal_pb2.MSPRole.MEMBER,
    "admin": msp_principal_pb2.MSPRole.ADMIN,
    "client": msp_principal_pb2.MSPRole.CLIENT,
    "peer": msp_principal_pb2.MSPRole.PEER,
    "orderer": msp_principal_pb2.MSPRole.ORDERER,
}
_PRINCIPAL = re.compile(r"^([A-Za-z0-9.\-]+)\.(admin|member|client|peer|orderer)$")
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'[^']*'|\"[^\"]*\")|(?P<num>\d+)|(?P<name>[A-Za-z]+)|(?P<p>[(),]))"
)


class PolicyDSLError(ValueError):
    """The policy text is not in Fabric's signature-policy language."""


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise PolicyDSLError(f"policy {text!r}: unexpected character at offset {pos}")
        kind = m.lastgroup or ""
        out.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.principals: list[msp_principal_pb2.MSPPrincipal] = []

    def _peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _next(self, what: str) -> _Tok:
        tok = self._peek()
        if tok is None:
            raise PolicyDSLError(f"policy {self.text!r}: expected {what} but the text ended")
        self.i += 1
        return tok

    def _expect(self, text: str) -> None:
        tok = self._next(repr(text))
        if tok.text != text:
            raise PolicyDSLError(
                f"policy {self.text!r}: expected {text!r} at offset {tok.pos}, found {tok.text!r}"
            )

    def expr(self) -> policies_pb2.SignaturePolicy:
        tok = self._next("AND, OR, OutOf or a principal")
        if tok.kind == "str":
            return self._principal(tok.text[1:-1])
        if tok.kind != "name":
            raise PolicyDSLError(
                f"policy {self.text!r}: unexpected {tok.text!r} at offset {tok.pos}"
            )
        op = tok.text.lower()
        if op not in ("and", "or", "outof"):
            raise PolicyDSLError(
                f"policy {self.text!r}: unknown operator {tok.text!r}; use AND, OR or OutOf"
            )
        self._expect("(")
        n: int | None = None
        if op == "outof":
            num = self._next("a number")
            if num.kind == "num":
                n = int(num.text)
            elif num.kind == "str" and num.text[1:-1].isdigit():
                n = int(num.text[1:-1])
            else:
                raise PolicyDSLError(
                    f"policy {self.text!r}: OutOf needs a number first, found {num.text!r}"
                )
            self._expect(",")
        args = [self._arg()]
        while (t := self._peek()) is not None and t.text == ",":
            self.i += 1
            args.append(self._arg())
        self._expect(")")
        # Fabric evaluates nested gates first (they take identity slots as they are met), then
        # numbers this gate's own principals: AND('A.peer', OR('B.peer', 'C.peer')) lists B, C, A.
        rules = [self._principal(a) if isinstance(a, str) else a for a in args]
        if op == "and":
            n = len(rules)
        elif op == "or":
            n = 1
        assert n is not None
        if op == "outof" and not 0 <= n <= len(rules):
            raise PolicyDSLError(
                f"policy {self.text!r}: OutOf({n}, ...) has only {len(rules)} sub-policies"
            )
        if op != "outof" and len(rules) < 1:
            raise PolicyDSLError(f"policy {self.text!r}: {tok.text} needs arguments")
        return policies_pb2.SignaturePolicy(
            n_out_of=policies_pb2.SignaturePolicy.NOutOf(n=n, rules=rules)
        )

    def _arg(self) -> policies_pb2.SignaturePolicy | str:
        tok = self._peek()
        if tok is not None and tok.kind == "str":
            self.i += 1
            return tok.text[1:-1]
        return self.expr()

    def _principal(self, text: str) -> policies_pb2.SignaturePolicy:
        m = _PRINCIPAL.match(text)
        if m is None:
            raise PolicyDSLError(
                f"policy {self.text!r}: principal {text!r} must be '<MSP ID>.<role>' with role "
                "member, admin, client, peer or orderer"
            )
        role = msp_principal_pb2.MSPRole(msp_identifier=m.group(1), role=_ROLES[m.group(2)])
        self.principals.append(
            msp_principal_pb2.MSPPrincipal(
                principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
                principal=role.SerializeToString(),
            )
        )
        return policies_pb2.SignaturePolicy(signed_by=len(self.principals) - 1)


def from_string(text: str) -> policies_pb2.SignaturePolicyEnvelope:
    parser = _Parser(text)
    rule = parser.expr()
    if parser._peek() is not None:
        extra = parser._peek()
        assert extra is not None
        raise PolicyDSLError(f"policy {text!r}: unexpected {extra.text!r} at offset {extra.pos}")
    return policies_pb2.SignaturePolicyEnvelope(version=0, rule=rule, identities=parser.principals)


def signed_by_any_member(msp_ids: list[str]) -> policies_pb2.SignaturePolicyEnvelope:
    """Fabric's SignedByAnyMember: 1-of each MSP's member role."""
    return from_string("OR(" + ", ".join(f"'{m}.member'" for m in msp_ids) + ")")


def to_string(env: policies_pb2.SignaturePolicyEnvelope) -> str:
    """Render an envelope back into the DSL (ROLE principals only), for messages and logs."""
    names = {v: k for k, v in _ROLES.items()}

    def render(rule: policies_pb2.SignaturePolicy) -> str:
        if rule.WhichOneof("Type") == "signed_by":
            p = env.identities[rule.signed_by]
            if p.principal_classification == msp_principal_pb2.MSPPrincipal.ROLE:
                r = msp_principal_pb2.MSPRole.FromString(p.principal)
                return f"'{r.msp_identifier}.{names.get(r.role, '?')}'"
            return f"<principal {rule.signed_by}>"
        sub = ", ".join(render(r) for r in rule.n_out_of.rules)
        return f"OutOf({rule.n_out_of.n}, {sub})"

    return render(env.rule)
