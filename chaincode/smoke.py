"""The smoke contract: one small transaction per feature of the runtime and of the ledger.

Served as the default contract of chaincode ``smoke`` (no ``smoke:`` prefix needed). The
sandbox, conformance and benchmark tests drive the ledger through it.
"""

from __future__ import annotations

import base64
from typing import Any

from chaincode.runtime import ChaincodeError, Context, Contract, transaction

__all__ = ["SmokeContract"]


class SmokeContract(Contract):
    name = "smoke"
    info = {"title": "smoke", "version": "1.0.0"}
    # Stores whatever text a test or a benchmark hands it (JSON arguments stay bounded).
    strict_text = False

    @transaction()
    def Put(self, ctx: Context, key: str, value: str) -> None:
        ctx.stub.put_state(key, value.encode("utf-8"))

    @transaction(evaluate=True)
    def Get(self, ctx: Context, key: str) -> bytes:
        return ctx.stub.get_state(key)

    @transaction()
    def Delete(self, ctx: Context, key: str) -> None:
        ctx.stub.del_state(key)

    @transaction(evaluate=True)
    def Range(self, ctx: Context, start: str, end: str) -> list[dict[str, str]]:
        with ctx.stub.get_state_by_range(start, end) as results:
            return [{"key": kv.key, "value": kv.value.decode("utf-8", "replace")} for kv in results]

    @transaction(evaluate=True)
    def RangePage(
        self, ctx: Context, start: str, end: str, pageSize: int, bookmark: str = ""
    ) -> dict[str, Any]:
        records, meta = ctx.stub.get_state_by_range_with_pagination(start, end, pageSize, bookmark)
        return {
            "records": [
                {"key": kv.key, "value": kv.value.decode("utf-8", "replace")} for kv in records
            ],
            "fetchedRecordsCount": meta.fetched_records_count,
            "bookmark": meta.bookmark,
        }

    @transaction(evaluate=True)
    def History(self, ctx: Context, key: str) -> list[dict[str, Any]]:
        return [
            {
                "txId": mod.tx_id,
                "value": mod.value.decode("utf-8", "replace"),
                "timestamp": mod.timestamp.isoformat(),
                "isDelete": mod.is_delete,
            }
            for mod in ctx.stub.get_history_for_key(key)
        ]

    @transaction()
    def EmitEvent(self, ctx: Context, name: str, payload: str) -> None:
        ctx.stub.set_event(name, payload.encode("utf-8"))

    @transaction(evaluate=True)
    def Echo(self, ctx: Context, arg: bytes) -> bytes:
        return arg

    @transaction()
    def PutPrivate(self, ctx: Context, collection: str, key: str) -> None:
        value = ctx.stub.get_transient().get("value")
        if value is None:
            raise ChaincodeError("PutPrivate needs the value in transient field 'value'")
        ctx.stub.put_private_data(collection, key, value)

    @transaction(evaluate=True)
    def GetPrivate(self, ctx: Context, collection: str, key: str) -> bytes:
        return ctx.stub.get_private_data(collection, key)

    @transaction(evaluate=True)
    def GetPrivateHash(self, ctx: Context, collection: str, key: str) -> str:
        return ctx.stub.get_private_data_hash(collection, key).hex()

    @transaction()
    def Fail(self, ctx: Context, message: str) -> None:
        raise ChaincodeError(message)

    @transaction()
    def SetKeyPolicy(self, ctx: Context, key: str, policy_b64: str) -> None:
        """Set the key's endorsement policy: a base64 SignaturePolicyEnvelope."""
        try:
            policy = base64.b64decode(policy_b64, validate=True)
        except ValueError as exc:
            raise ChaincodeError(f"policy for key {key!r} is not base64: {exc}") from None
        ctx.stub.set_state_validation_parameter(key, policy)

    @transaction(evaluate=True)
    def GetKeyPolicy(self, ctx: Context, key: str) -> str:
        return base64.b64encode(ctx.stub.get_state_validation_parameter(key)).decode("ascii")

    @transaction(evaluate=True)
    def Whoami(self, ctx: Context) -> dict[str, Any]:
        return ctx.client_identity.to_dict()

    @transaction(evaluate=True)
    def TxInfo(self, ctx: Context) -> dict[str, Any]:
        return {
            "txId": ctx.stub.get_tx_id(),
            "channelId": ctx.stub.get_channel_id(),
            "timestamp": ctx.stub.get_tx_timestamp().isoformat(),
        }

    @transaction()
    def InvokeOther(
        self, ctx: Context, chaincode: str, function: str, args: list[str], channel: str = ""
    ) -> bytes:
        """Call ``function`` of another chaincode in this transaction; its payload is returned."""
        call_args = [function.encode("utf-8"), *(a.encode("utf-8") for a in args)]
        response = ctx.stub.invoke_chaincode(chaincode, call_args, channel)
        if response.status >= 400:
            raise ChaincodeError(
                f"chaincode {chaincode} {function} failed with status {response.status}: "
                f"{response.message}"
            )
        return bytes(response.payload)
