"""The P2P trading market on real Fabric v3.1 peers: the seed's two trades pending, then confirmed in
one batch by the operator; two buyers racing for a seller's last kWh, one winning. Skipped,
with the reason, where real Fabric binaries are absent (the sandbox tier runs the same and
more with CBP_TEST_ENGINE=fabric). Named to run before test_fabric_network, whose last test
stops the session's network."""

from __future__ import annotations

import json
import uuid
from typing import Any

from gateway import CommitError, from_profile

CHANNEL = "p2p-trading"
PARAMS = {"buyThresholdPct": "70", "sellThresholdPct": "75", "priceEurPerKwh": "0.15"}


def test_trading_on_real_fabric(fabric_network: Any) -> None:
    profile = str(fabric_network.paths.connection_profile)
    run = uuid.uuid4().hex[:8]
    b1, b2, b3, b4, s1, s2, lone = (
        f"{run}-{n}" for n in ("B1", "B2", "B3", "B4", "S1", "S2", "S3")
    )
    with (
        from_profile("infraop", "User1", profile) as op_gw,
        from_profile("evusers", "User1", profile) as user_gw,
    ):
        op = op_gw.get_network(CHANNEL).get_contract("trading")
        user = user_gw.get_network(CHANNEL).get_contract("trading")
        try:
            current = json.loads(op.evaluate_transaction("ReadMarketParameters"))
        except Exception:
            current = {}
        if any(current.get(k) != v for k, v in PARAMS.items()):
            op.submit_transaction("SetMarketParameters", json.dumps(PARAMS))
        for ev_id, capacity, soc in (
            (b1, 60, 40),
            (b2, 100, "26.5"),
            (b3, 60, 40),
            (b4, 60, 40),
            (s1, 100, 95),
            (s2, 200, 97),
            (lone, 40, "77.5"),
        ):
            body = {"evId": ev_id, "batteryCapacityKwh": capacity, "socPct": soc}
            user.submit_transaction("DeclareEv", json.dumps(body))

        costs = []
        for trade_id, buyer, seller, amount in (
            (f"{run}-T1", b1, s1, "18.0"),
            (f"{run}-T2", b2, s2, 43.5),
        ):
            body = {"tradeId": trade_id, "buyerId": buyer, "sellerId": seller, "amountKwh": amount}
            record = json.loads(user.submit_transaction("SubmitTrade", json.dumps(body)))
            costs.append((record["status"], record["costEur"]))
        assert costs == [("Pending", "2.70"), ("Pending", "6.52")]
        batch = {
            "batchId": f"{run}-B",
            "confirmations": [{"tradeId": f"{run}-T1"}, {"tradeId": f"{run}-T2"}],
        }
        out = json.loads(op.submit_transaction("ConfirmTrades", json.dumps(batch)))
        assert (out["count"], out["costEur"]) == (2, "9.22")
        read = json.loads(user.evaluate_transaction("ReadBatch", f"{run}-B"))
        assert [t["status"] for t in read["trades"]] == ["Confirmed", "Confirmed"]

        # two buyers, one seller's last kWh: endorsed on the same state, only one commits
        endorsed = [
            user.new_proposal(
                "SubmitTrade",
                json.dumps(
                    {"tradeId": f"{run}-R{i}", "buyerId": b, "sellerId": lone, "amountKwh": 1}
                ),
            ).endorse()
            for i, b in enumerate((b3, b4))
        ]
        commits = [t.submit() for t in endorsed]
        outcomes = []
        for c in commits:
            try:
                c.get_status().raise_for_status()
                outcomes.append("VALID")
            except CommitError as exc:
                outcomes.append(exc.code_name)
        assert sorted(outcomes) == ["MVCC_READ_CONFLICT", "VALID"]
        assert json.loads(user.evaluate_transaction("ReadEv", lone))["remainingKwh"] == "0.000"
