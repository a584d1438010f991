"""ChaincodeStub: a transaction's view of the ledger and of its proposal.

Every ledger call is one request to the peer on the transaction's ``TxChannel``. The proposal
(creator, transient data, timestamp, binding) is decoded on first use only: most transactions
read one or two of those, and a large argument should not be parsed twice.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim
from fabric_protos.peer import proposal_pb2

from . import keys
from . import messages as m
from .errors import ChaincodeError, PeerError
from .iterators import (
    KV,
    HistoryQueryIterator,
    QueryMetadata,
    StateQueryIterator,
)

if TYPE_CHECKING:
    from .txchannel import TxChannel

__all__ = ["VALIDATION_PARAMETER", "ChaincodeStub"]

VALIDATION_PARAMETER = "VALIDATION_PARAMETER"  # peer.MetaDataKeys name: key-level endorsement

_GetState = shim.GetState
_PutState = shim.PutState
_DelState = shim.DelState
_GetStateByRange = shim.GetStateByRange
_GetQueryResult = shim.GetQueryResult
_GetHistoryForKey = shim.GetHistoryForKey
_GetStateMetadata = shim.GetStateMetadata
_PutStateMetadata = shim.PutStateMetadata
_StateMetadata = shim.StateMetadata
_StateMetadataResult = shim.StateMetadataResult
_QueryResponse = shim.QueryResponse
_QueryMetadata = shim.QueryMetadata
_GetStateMultiple = shim.GetStateMultiple
_GetStateMultipleResult = shim.GetStateMultipleResult
_WriteRecord = shim.WriteRecord
_WriteBatchState = shim.WriteBatchState

_VALID_HEADER_TYPES = (common_pb2.ENDORSER_TRANSACTION, common_pb2.CONFIG)


class _Proposal:
    """The decoded parts of a SignedProposal the stub exposes."""

    __slots__ = ("binding", "channel_header", "creator", "proposal", "transient")

    def __init__(self, signed: proposal_pb2.SignedProposal) -> None:
        proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
        if not proposal.header:
            raise ChaincodeError("proposal has no header")
        header = common_pb2.Header.FromString(proposal.header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        if channel_header.type not in _VALID_HEADER_TYPES:
            raise ChaincodeError(
                f"proposal channel header type {channel_header.type} is not "
                "ENDORSER_TRANSACTION or CONFIG"
            )
        signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        self.proposal = proposal
        self.channel_header = channel_header
        self.creator: bytes = signature_header.creator
        self.transient: dict[str, bytes] = dict(payload.TransientMap)
        # Fabric's binding: SHA-256(nonce || creator || epoch as 8 little-endian bytes)
        self.binding = hashlib.sha256(
            signature_header.nonce
            + signature_header.creator
            + struct.pack("<Q", channel_header.epoch)
        ).digest()


class ChaincodeStub:
    """The ledger API of one transaction (see docs/architecture.md)."""

    def __init__(
        self,
        tx: TxChannel,
        chaincode_input: m.ChaincodeInput,
        signed_proposal: proposal_pb2.SignedProposal | None,
    ) -> None:
        self._tx = tx
        self._call = tx.call
        self._input = chaincode_input
        self._args: list[bytes] = list(chaincode_input.args)
        self._signed_proposal = signed_proposal
        self._proposal: _Proposal | None = None
        self._event: m.ChaincodeEvent | None = None
        self._batch: dict[tuple[str, str, bool], shim.WriteRecord] | None = None

    # ---- transaction and proposal -------------------------------------------------------

    @property
    def chaincode_event(self) -> m.ChaincodeEvent | None:
        return self._event

    def get_tx_id(self) -> str:
        return self._tx.txid

    def get_channel_id(self) -> str:
        return self._tx.channel_id

    def get_args(self) -> list[bytes]:
        return self._args

    def get_string_args(self) -> list[str]:
        return [a.decode("utf-8") for a in self._args]

    def get_function_and_parameters(self) -> tuple[str, list[str]]:
        args = self.get_string_args()
        return (args[0], args[1:]) if args else ("", [])

    def get_decorations(self) -> dict[str, bytes]:
        return dict(self._input.decorations)

    def _decoded(self) -> _Proposal:
        if self._proposal is None:
            if self._signed_proposal is None:
                raise ChaincodeError("transaction has no signed proposal")
            self._proposal = _Proposal(self._signed_proposal)
        return self._proposal

    def get_signed_proposal(self) -> proposal_pb2.SignedProposal | None:
        return self._signed_proposal

    def get_creator(self) -> bytes:
        """The SerializedIdentity bytes of the client that signed the proposal."""
        return self._decoded().creator

    def get_transient(self) -> dict[str, bytes]:
        return self._decoded().transient

    def get_binding(self) -> bytes:
        return self._decoded().binding

    def get_tx_timestamp(self) -> datetime:
        """The client's proposal timestamp (UTC): the only clock a contract may read."""
        ts = self._decoded().channel_header.timestamp
        return datetime.fromtimestamp(ts.seconds, UTC).replace(microsecond=ts.nanos // 1000)

    def set_event(self, name: str, payload: bytes = b"") -> None:
        if not name:
            raise ChaincodeError("event name must not be empty")
        self._event = m.ChaincodeEvent(event_name=name, payload=payload)

    # ---- public state -------------------------------------------------------------------

    def get_state(self, key: str) -> bytes:
        """The committed value of ``key``; b"" when absent (writes of this tx are not seen)."""
        return self._call(m.GET_STATE, _GetState(key=key).SerializeToString())

    def get_multiple_states(self, keys_: Iterable[str]) -> list[bytes]:
        return self._get_multiple("", list(keys_))

    def put_state(self, key: str, value: bytes) -> None:
        self._put("", key, value)

    def del_state(self, key: str) -> None:
        self._delete("", key)

    def get_state_by_range(self, start_key: str, end_key: str) -> StateQueryIterator:
        start_key = self._range_start(start_key, end_key)
        return self._range("", start_key, end_key, b"")

    def get_state_by_range_with_pagination(
        self, start_key: str, end_key: str, page_size: int, bookmark: str = ""
    ) -> tuple[list[KV], QueryMetadata]:
        start_key = self._range_start(start_key, end_key)
        return self._page("", start_key, end_key, page_size, bookmark)

    def get_state_by_partial_composite_key(
        self, object_type: str, attributes: list[str] | tuple[str, ...]
    ) -> StateQueryIterator:
        start, end = keys.partial_composite_key_range(object_type, attributes)
        return self._range("", start, end, b"")

    def get_state_by_partial_composite_key_with_pagination(
        self,
        object_type: str,
        attributes: list[str] | tuple[str, ...],
        page_size: int,
        bookmark: str = "",
    ) -> tuple[list[KV], QueryMetadata]:
        start, end = keys.partial_composite_key_range(object_type, attributes)
        return self._page("", start, end, page_size, bookmark)

    def get_query_result(self, query: str) -> StateQueryIterator:
        """A rich (CouchDB) query; peers on LevelDB refuse it."""
        payload = _GetQueryResult(query=query).SerializeToString()
        return StateQueryIterator(
            self._tx, _QueryResponse.FromString(self._call(m.GET_QUERY_RESULT, payload))
        )

    def get_history_for_key(self, key: str) -> HistoryQueryIterator:
        payload = _GetHistoryForKey(key=key).SerializeToString()
        response = _QueryResponse.FromString(self._call(m.GET_HISTORY_FOR_KEY, payload))
        return HistoryQueryIterator(self._tx, response)

    @staticmethod
    def create_composite_key(object_type: str, attributes: list[str] | tuple[str, ...]) -> str:
        return keys.create_composite_key(object_type, attributes)

    @staticmethod
    def split_composite_key(key: str) -> tuple[str, list[str]]:
        return keys.split_composite_key(key)

    # ---- key-level endorsement ----------------------------------------------------------

    def set_state_validation_parameter(self, key: str, policy: bytes) -> None:
        """Set the key's endorsement policy (a marshalled SignaturePolicyEnvelope)."""
        self._put_metadata("", key, VALIDATION_PARAMETER, policy)

    def get_state_validation_parameter(self, key: str) -> bytes:
        return self._get_metadata("", key).get(VALIDATION_PARAMETER, b"")

    def set_private_data_validation_parameter(
        self, collection: str, key: str, policy: bytes
    ) -> None:
        self._put_metadata(collection, key, VALIDATION_PARAMETER, policy)

    def get_private_data_validation_parameter(self, collection: str, key: str) -> bytes:
        return self._get_metadata(collection, key).get(VALIDATION_PARAMETER, b"")

    # ---- private data -------------------------------------------------------------------

    def get_private_data(self, collection: str, key: str) -> bytes:
        self._need_collection(collection)
        payload = _GetState(key=key, collection=collection).SerializeToString()
        return self._call(m.GET_STATE, payload)

    def get_multiple_private_data(self, collection: str, keys_: Iterable[str]) -> list[bytes]:
        self._need_collection(collection)
        return self._get_multiple(collection, list(keys_))

    def get_private_data_hash(self, collection: str, key: str) -> bytes:
        self._need_collection(collection)
        payload = _GetState(key=key, collection=collection).SerializeToString()
        return self._call(m.GET_PRIVATE_DATA_HASH, payload)

    def put_private_data(self, collection: str, key: str, value: bytes) -> None:
        self._need_collection(collection)
        self._put(collection, key, value)

    def del_private_data(self, collection: str, key: str) -> None:
        self._need_collection(collection)
        self._delete(collection, key)

    def purge_private_data(self, collection: str, key: str) -> None:
        self._need_collection(collection)
        if self._batch is not None:
            self._batch[(collection, key, False)] = _WriteRecord(
                key=key, collection=collection, type=_WriteRecord.PURGE_PRIVATE_DATA
            )
            return
        payload = _DelState(key=key, collection=collection).SerializeToString()
        self._call(m.PURGE_PRIVATE_DATA, payload)

    def get_private_data_by_range(
        self, collection: str, start_key: str, end_key: str
    ) -> StateQueryIterator:
        self._need_collection(collection)
        start_key = self._range_start(start_key, end_key)
        return self._range(collection, start_key, end_key, b"")

    def get_private_data_by_partial_composite_key(
        self, collection: str, object_type: str, attributes: list[str] | tuple[str, ...]
    ) -> StateQueryIterator:
        self._need_collection(collection)
        start, end = keys.partial_composite_key_range(object_type, attributes)
        return self._range(collection, start, end, b"")

    def get_private_data_query_result(self, collection: str, query: str) -> StateQueryIterator:
        self._need_collection(collection)
        payload = _GetQueryResult(query=query, collection=collection).SerializeToString()
        return StateQueryIterator(
            self._tx, _QueryResponse.FromString(self._call(m.GET_QUERY_RESULT, payload))
        )

    # ---- other chaincodes ---------------------------------------------------------------

    def invoke_chaincode(self, name: str, args: list[bytes], channel: str = "") -> m.Response:
        """Call chaincode ``name`` (on ``channel``, default this one) in this transaction."""
        target = f"{name}/{channel}" if channel else name
        spec = m.ChaincodeSpec(
            chaincode_id=m.ChaincodeID(name=target), input=m.ChaincodeInput(args=args)
        )
        reply = m.ChaincodeMessage.FromString(
            self._call(m.INVOKE_CHAINCODE, spec.SerializeToString())
        )
        if reply.type == m.COMPLETED:
            return m.Response.FromString(reply.payload)
        return m.Response(
            status=m.STATUS_ERROR, message=reply.payload.decode("utf-8", errors="replace")
        )

    # ---- write batches (Fabric 3.1) -----------------------------------------------------

    def start_write_batch(self) -> None:
        """Buffer writes and send them in WRITE_BATCH_STATE messages, if the peer accepts them.

        The batch is sent by ``finish_write_batch`` or when the transaction ends.
        """
        if self._tx.params.use_write_batch and self._batch is None:
            self._batch = {}

    def finish_write_batch(self) -> None:
        batch, self._batch = self._batch, None
        if not batch:
            return
        records = list(batch.values())
        size = self._tx.params.max_size_write_batch or len(records)
        for start in range(0, len(records), size):
            payload = _WriteBatchState(rec=records[start : start + size]).SerializeToString()
            self._call(m.WRITE_BATCH_STATE, payload)

    # ---- internals ----------------------------------------------------------------------

    @staticmethod
    def _need_collection(collection: str) -> None:
        if not collection:
            raise ChaincodeError("collection name must not be empty for private data")

    @staticmethod
    def _range_start(start_key: str, end_key: str) -> str:
        keys.validate_simple_key(start_key)
        keys.validate_simple_key(end_key)
        return start_key or keys.EMPTY_KEY_SUBSTITUTE

    def _put(self, collection: str, key: str, value: bytes) -> None:
        if not key:
            raise ChaincodeError("key must not be empty")
        if self._batch is not None:
            self._batch[(collection, key, False)] = _WriteRecord(
                key=key, value=value, collection=collection, type=_WriteRecord.PUT_STATE
            )
            return
        payload = _PutState(key=key, value=value, collection=collection).SerializeToString()
        self._call(m.PUT_STATE, payload)

    def _delete(self, collection: str, key: str) -> None:
        if self._batch is not None:
            self._batch[(collection, key, False)] = _WriteRecord(
                key=key, collection=collection, type=_WriteRecord.DEL_STATE
            )
            return
        self._call(m.DEL_STATE, _DelState(key=key, collection=collection).SerializeToString())

    def _put_metadata(self, collection: str, key: str, metakey: str, value: bytes) -> None:
        entry = _StateMetadata(metakey=metakey, value=value)
        if self._batch is not None:
            self._batch[(collection, key, True)] = _WriteRecord(
                key=key, collection=collection, metadata=entry, type=_WriteRecord.PUT_STATE_METADATA
            )
            return
        payload = _PutStateMetadata(
            key=key, collection=collection, metadata=entry
        ).SerializeToString()
        self._call(m.PUT_STATE_METADATA, payload)

    def _get_metadata(self, collection: str, key: str) -> dict[str, bytes]:
        payload = _GetStateMetadata(key=key, collection=collection).SerializeToString()
        result = _StateMetadataResult.FromString(self._call(m.GET_STATE_METADATA, payload))
        return {entry.metakey: entry.value for entry in result.entries}

    def _get_multiple(self, collection: str, wanted: list[str]) -> list[bytes]:
        params = self._tx.params
        if not params.use_get_multiple_keys:
            return [
                self._call(m.GET_STATE, _GetState(key=k, collection=collection).SerializeToString())
                for k in wanted
            ]
        values: list[bytes] = []
        size = params.max_size_get_multiple_keys
        for start in range(0, len(wanted), size):
            payload = _GetStateMultiple(
                keys=wanted[start : start + size], collection=collection
            ).SerializeToString()
            result = _GetStateMultipleResult.FromString(self._call(m.GET_STATE_MULTIPLE, payload))
            asked = min(size, len(wanted) - start)
            if len(result.values) != asked:
                raise PeerError(
                    f"peer answered GET_STATE_MULTIPLE for {asked} keys with "
                    f"{len(result.values)} values; one value per key is the rule"
                )
            values.extend(result.values)
        return values

    def _range(self, collection: str, start: str, end: str, metadata: bytes) -> StateQueryIterator:
        payload = _GetStateByRange(
            startKey=start, endKey=end, collection=collection, metadata=metadata
        ).SerializeToString()
        response = _QueryResponse.FromString(self._call(m.GET_STATE_BY_RANGE, payload))
        return StateQueryIterator(self._tx, response)

    def _page(
        self, collection: str, start: str, end: str, page_size: int, bookmark: str
    ) -> tuple[list[KV], QueryMetadata]:
        if page_size <= 0:
            raise ChaincodeError(f"page size {page_size} must be a positive number")
        metadata = _QueryMetadata(pageSize=page_size, bookmark=bookmark).SerializeToString()
        iterator = self._range(collection, start, end, metadata)
        records = list(iterator)
        return records, iterator.metadata()
