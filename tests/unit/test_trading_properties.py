"""Property tests (hypothesis) of equations 1-5 and of the market's invariants.

Equations: roles exactly by threshold, energies never negative and exact to the Wh, cost to
the cent, and the case study's own copy of the equations equal to the chaincode's. Market: a
random sequence of declarations, trades, confirmations and rejections, checked after every
step against a model: no energy created, nothing negative, no kWh sold twice, a rejection (or
a short delivery) gives its energy back, and a refusal changes nothing.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from registry_fakes import FakeLedger
from trading_fakes import ALICE, OPERATOR, ev, new_market, state_of, trade

from chaincode.runtime import ChaincodeError
from chaincode.trading import Role, available_kwh, cost_eur, required_kwh, role_of
from simulations.p2p import energy as sim

pct = st.decimals(min_value=0, max_value=100, places=2)
capacity = st.decimals(min_value=Decimal("0.001"), max_value=1000, places=3)
kwh = st.decimals(min_value=Decimal("0.001"), max_value=100_000, places=3)
price = st.decimals(min_value=Decimal("0.0001"), max_value=10, places=4)


@given(soc=pct, a=pct, b=pct)
def test_eq1_role_is_exactly_by_threshold(soc: Decimal, a: Decimal, b: Decimal) -> None:
    t_b, t_s = min(a, b), max(a, b)
    role = role_of(soc, t_b, t_s)
    assert (role is Role.BUYER) == (soc < t_b)
    assert (role is Role.SELLER) == (soc > t_s)
    assert (role is Role.NEUTRAL) == (t_b <= soc <= t_s)


@given(soc=pct, bc=capacity, a=pct, b=pct)
def test_eq2_eq3_energies_are_exact_to_the_wh_and_never_negative(
    soc: Decimal, bc: Decimal, a: Decimal, b: Decimal
) -> None:
    t_b, t_s = min(a, b), max(a, b)
    req, av = required_kwh(soc, bc, t_b), available_kwh(soc, bc, t_s)
    assert req >= 0 and av >= 0
    exact_req, exact_av = max(t_b - soc, 0) * bc / 100, max(soc - t_s, 0) * bc / 100
    assert exact_req - Decimal("0.001") < req <= exact_req  # rounded down, never credited
    assert exact_av - Decimal("0.001") < av <= exact_av
    assert av <= bc and req <= bc
    role = role_of(soc, t_b, t_s)
    if req > 0:
        assert role is Role.BUYER
    if av > 0:
        assert role is Role.SELLER


@given(amount=kwh, p=price)
def test_eq5_cost_is_amount_times_price_to_the_cent(amount: Decimal, p: Decimal) -> None:
    cost = cost_eur(amount, p)
    assert cost == cost.quantize(Decimal("0.01"))
    assert abs(cost - amount * p) <= Decimal("0.005")
    assert cost == (amount * p).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def test_eq5_the_seed_examples() -> None:
    assert cost_eur(Decimal("18.0"), Decimal("0.15")) == Decimal("2.70")
    assert cost_eur(Decimal("43.5"), Decimal("0.15")) == Decimal("6.52")
    assert sim.cost_eur(18_000, Decimal("0.15")) == Decimal("2.70")
    assert sim.cost_eur(43_500, Decimal("0.15")) == Decimal("6.52")


@given(
    soc=st.integers(0, 1000),
    bc=st.sampled_from([40, 60, 80, 100]),
    t_b=st.integers(0, 100),
    gap=st.integers(0, 30),
)
def test_case_study_equations_equal_the_chaincodes(soc: int, bc: int, t_b: int, gap: int) -> None:
    t_s = min(t_b + gap, 100)
    soc_pct, d_bc = Decimal(soc) / 10, Decimal(bc)
    assert sim.role_of(soc, t_b, t_s).value == role_of(soc_pct, Decimal(t_b), Decimal(t_s)).value
    assert sim.kwh(sim.required_wh(soc, bc, t_b)) == required_kwh(soc_pct, d_bc, Decimal(t_b))
    assert sim.kwh(sim.available_wh(soc, bc, t_s)) == available_kwh(soc_pct, d_bc, Decimal(t_s))


# --- the market as a state machine -----------------------------------------------------------

EV_IDS = [f"EV{i}" for i in range(8)]


class Market(RuleBasedStateMachine):
    """Random market activity; the model says what must be accepted and what each EV holds."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger: FakeLedger = new_market()
        self.initial: dict[str, Decimal] = {}  # eq. 2 or 3 at declaration
        self.roles: dict[str, str] = {}
        self.trades: dict[
            str, dict[str, Any]
        ] = {}  # id -> {buyer, seller, amount, status, delivered}
        self.count = 0

    def _refused(self, who: Any, function: str, body: Any) -> str:
        before = self.ledger.snapshot()
        try:
            self.ledger.submit(who, function, body)
        except ChaincodeError as exc:
            assert self.ledger.snapshot() == before, "a refusal changed the ledger"
            return str(exc)
        raise AssertionError(f"{function} {body} was accepted")

    def _held(self, ev_id: str) -> Decimal:
        """Energy of the EV's live trades: pending amounts and confirmed deliveries."""
        held = Decimal(0)
        for t in self.trades.values():
            if ev_id in (t["buyer"], t["seller"]):
                if t["status"] == "Pending":
                    held += t["amount"]
                elif t["status"] == "Confirmed":
                    held += t["delivered"]
        return held

    @rule(
        data=st.data(),
        bc=st.sampled_from([40, 60, 80, 100]),
        soc=st.decimals(min_value=20, max_value=100, places=1),
    )
    def declare(self, data: st.DataObject, bc: int, soc: Decimal) -> None:
        # One stay per EV, so that all its trades count against one declaration.
        fresh = [i for i in EV_IDS if i not in self.initial]
        if not fresh:
            return
        ev_id = data.draw(st.sampled_from(fresh))
        self._declare(ev_id, bc, soc)

    def _declare(self, ev_id: str, bc: int, soc: Decimal) -> None:
        record = self.ledger.submit(ALICE, "DeclareEv", ev(ev_id, bc, str(soc)))
        expected = role_of(soc, Decimal(70), Decimal(75))
        assert record["role"] == expected.value
        self.roles[ev_id] = record["role"]
        self.initial[ev_id] = Decimal(
            record["requiredKwh"] if expected is Role.BUYER else record["availableKwh"]
        )

    @initialize()
    def first_buyer_and_seller(self) -> None:
        self._declare("EV0", 100, Decimal(30))  # needs 40 kWh
        self._declare("EV1", 100, Decimal(95))  # has 20 kWh

    @rule(
        data=st.data(),
        amount=st.one_of(
            st.sampled_from(["fits", "all", "one Wh over", "zero", "negative"]),
            st.decimals(min_value=Decimal("0.001"), max_value=40, places=3),
        ),
    )
    def submit(self, data: st.DataObject, amount: Decimal | str) -> None:
        buyers = sorted(i for i, r in self.roles.items() if r == "Buyer") or sorted(self.roles)
        sellers = sorted(i for i, r in self.roles.items() if r == "Seller") or sorted(self.roles)
        # mostly a buyer and a seller; sometimes any two EVs (a role refusal)
        pool = st.sampled_from(sorted(self.initial))
        buyer = data.draw(st.one_of(st.sampled_from(buyers), pool))
        seller = data.draw(st.one_of(st.sampled_from(sellers), pool))
        need = self.initial[buyer] - self._held(buyer)
        left = self.initial[seller] - self._held(seller)
        most = min(need, left)
        if isinstance(amount, str):
            amount = {
                "fits": (most / 2).quantize(Decimal("0.001")),
                "all": most,
                "one Wh over": most + Decimal("0.001"),
                "zero": Decimal(0),
                "negative": Decimal(-1),
            }[amount]
        ok = (
            buyer != seller
            and self.roles[buyer] == "Buyer"
            and self.roles[seller] == "Seller"
            and 0 < amount <= most
        )
        self.count += 1
        trade_id = f"T{self.count}"
        body = trade(buyer, seller, str(amount), trade_id)
        if not ok:
            self._refused(ALICE, "SubmitTrade", body)
            return
        record = self.ledger.submit(ALICE, "SubmitTrade", body)
        assert Decimal(record["costEur"]) == cost_eur(amount, Decimal("0.15"))
        self.trades[trade_id] = {
            "buyer": buyer,
            "seller": seller,
            "amount": amount,
            "status": "Pending",
            "delivered": Decimal(0),
        }

    def _pending_ids(self) -> list[str]:
        return sorted(i for i, t in self.trades.items() if t["status"] == "Pending")

    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        if not self._pending_ids():
            return
        ids = data.draw(st.lists(st.sampled_from(self._pending_ids()), min_size=1, unique=True))
        confirmations = []
        for i in ids:
            share = data.draw(st.sampled_from([Decimal(1), Decimal("0.5"), Decimal("0.001")]))
            delivered = max(
                (self.trades[i]["amount"] * share).quantize(Decimal("0.001")), Decimal("0.001")
            )
            confirmations.append({"tradeId": i, "deliveredKwh": str(delivered)})
        if data.draw(st.booleans()):  # sometimes a bad batch: all of it refused
            bad = data.draw(st.sampled_from(["over", "final", "unknown"]))
            done = [i for i, t in self.trades.items() if t["status"] != "Pending"]
            if bad == "over":
                confirmations[0]["deliveredKwh"] = str(
                    self.trades[ids[0]]["amount"] + Decimal("0.001")
                )
            elif bad == "final" and done:
                confirmations.append({"tradeId": done[0]})
            else:
                confirmations.append({"tradeId": "NOPE"})
            self._refused(OPERATOR, "ConfirmTrades", {"confirmations": confirmations})
            return
        self.ledger.submit(OPERATOR, "ConfirmTrades", {"confirmations": confirmations})
        for c in confirmations:
            t = self.trades[c["tradeId"]]
            t["status"], t["delivered"] = "Confirmed", Decimal(c["deliveredKwh"])

    @rule(data=st.data())
    def reject(self, data: st.DataObject) -> None:
        if not self._pending_ids():
            return
        i = data.draw(st.sampled_from(self._pending_ids()))
        self.ledger.submit(OPERATOR, "RejectTrade", {"tradeId": i, "reason": "no delivery"})
        self.trades[i]["status"] = "Rejected"

    @invariant()
    def energy_is_conserved_and_never_negative(self) -> None:
        for ev_id, initial in self.initial.items():
            remaining = Decimal(state_of(self.ledger, ev_id)["remainingKwh"])
            assert remaining >= 0, f"{ev_id} has negative energy left"
            # what the EV declared = what it still has + what its live trades hold: no kWh
            # created, none sold twice, a rejection's and a short delivery's energy given back
            assert remaining + self._held(ev_id) == initial, ev_id

    @invariant()
    def trades_match_the_model(self) -> None:
        for trade_id, t in self.trades.items():
            record = state_of(self.ledger, trade_id)
            assert record["status"] == t["status"]
            if t["status"] == "Confirmed":
                delivered = Decimal(record["deliveredKwh"])
                assert 0 < delivered <= Decimal(record["amountKwh"])
                assert Decimal(record["costEur"]) == cost_eur(delivered, Decimal("0.15"))


TestMarket = Market.TestCase
TestMarket.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
