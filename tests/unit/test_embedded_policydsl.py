from __future__ import annotations

import pytest
from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

from network.embedded.policydsl import PolicyDSLError, from_string, to_string


def _role(p: msp_principal_pb2.MSPPrincipal) -> tuple[str, int]:
    r = msp_principal_pb2.MSPRole.FromString(p.principal)
    return r.msp_identifier, r.role


def test_policydsl_and_or_nest_as_n_out_of() -> None:
    env = from_string("AND('A.peer', OR('B.member', 'C.admin'))")
    assert env.version == 0
    assert env.rule.n_out_of.n == 2
    # as configtxgen v3.1.5 writes it: the nested gate's principals take the first slots
    assert env.rule.n_out_of.rules[0].signed_by == 2
    inner = env.rule.n_out_of.rules[1].n_out_of
    assert inner.n == 1
    assert [r.signed_by for r in inner.rules] == [0, 1]
    R = msp_principal_pb2.MSPRole
    assert [_role(p) for p in env.identities] == [("B", R.MEMBER), ("C", R.ADMIN), ("A", R.PEER)]


def test_policydsl_out_of_and_roles() -> None:
    env = from_string('OutOf(2, "A.client", "B.orderer", "A.client")')
    assert env.rule.n_out_of.n == 2
    R = msp_principal_pb2.MSPRole
    # Fabric gives every occurrence its own identity slot
    assert [_role(p) for p in env.identities] == [
        ("A", R.CLIENT),
        ("B", R.ORDERER),
        ("A", R.CLIENT),
    ]


def test_policydsl_marshals_like_fabric_for_a_single_principal() -> None:
    env = from_string("OR('TSOMSP.peer')")
    expected = policies_pb2.SignaturePolicyEnvelope(
        version=0,
        rule=policies_pb2.SignaturePolicy(
            n_out_of=policies_pb2.SignaturePolicy.NOutOf(
                n=1, rules=[policies_pb2.SignaturePolicy(signed_by=0)]
            )
        ),
        identities=[
            msp_principal_pb2.MSPPrincipal(
                principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
                principal=msp_principal_pb2.MSPRole(
                    msp_identifier="TSOMSP", role=msp_principal_pb2.MSPRole.PEER
                ).SerializeToString(),
            )
        ],
    )
    assert env.SerializeToString() == expected.SerializeToString()


def test_policydsl_keywords_are_case_insensitive_and_render_back() -> None:
    env = from_string("and('A.member', or('B.peer', 'C.peer'))")
    assert to_string(env) == "OutOf(2, 'A.member', OutOf(1, 'B.peer', 'C.peer'))"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AND('A.peer'", "ended"),
        ("AND('A.superuser')", "principal 'A.superuser'"),
        ("XOR('A.peer')", "unknown operator"),
        ("OutOf(3, 'A.peer', 'B.peer')", "only 2 sub-policies"),
        ("OutOf('x', 'A.peer')", "needs a number"),
        ("OR('A.peer') junk", "unexpected"),
        ("OR('A.peer' ; )", "unexpected character"),
    ],
)
def test_policydsl_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(PolicyDSLError, match=message):
        from_string(text)
