"""Block validation as Fabric's committer does it (core/committer/txvalidator/v20 + MVCC).

Per transaction, in Fabric's order:
  1. envelope and headers parse (NIL_ENVELOPE, BAD_PAYLOAD, BAD_COMMON_HEADER, ...),
  2. the creator's identity is valid in the channel and signed the payload (BAD_CREATOR_SIGNATURE),
  3. txid = sha256(nonce + creator) (BAD_PROPOSAL_TXID), channel matches (TARGET_CHAIN_NOT_FOUND),
  4. txid not already on the ledger or earlier in the block (DUPLICATE_TXID),
  5. endorsements satisfy the policy of every namespace written: key-level VALIDATION_PARAMETER
     where a key has one, else the collection's or the chaincode's policy
     (ENDORSEMENT_POLICY_FAILURE; INVALID_CHAINCODE for an undefined chaincode),
  6. MVCC: every read version is still current and no earlier valid tx in the block wrote it
     (MVCC_READ_CONFLICT); range queries see the same keys and versions (PHANTOM_READ_CONFLICT).
Valid writes fold into one UpdateBatch for the block.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

from fabric_protos.common import common_pb2, configtx_pb2, policies_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import collection_pb2, proposal_pb2, transaction_pb2

from .channelconfig import ChannelConfig
from .lifecycle.definition import (
    DEFAULT_ENDORSEMENT_REF,
    LIFECYCLE_ENDORSEMENT_REF,
    ChaincodeDefinition,
    implicit_collection_config,
    implicit_msp,
)
from .lifecycle.definition import (
    NAMESPACE as LIFECYCLE_NS,
)
from .msp import MSPError
from .mvcc import StateView, check_mvcc
from .policies import (
    PolicyError,
    SignedData,
    evaluate_signature_policy,
    valid_identities,
)
from .protoutil import (
    ParsedTx,
    ProtoError,
    compute_txid,
    proposal_hash_from_tx,
    unpack_envelope,
)
from .rwset import TxRWSet, parse_tx_rwset
from .singleflight import SingleFlight
from .statedb import (
    KeyUpdate,
    StateDB,
    UpdateBatch,
    Version,
    VersionedValue,
    decode_metadata,
    encode_metadata,
)

log = logging.getLogger(__name__)

# Plain ints: attribute lookups on the protobuf enum wrapper are slow in the per-tx loop.
Code = SimpleNamespace(**dict(transaction_pb2.TxValidationCode.items()))
VALIDATION_PARAMETER = "VALIDATION_PARAMETER"
# Where a peer keeps the channel config in its world state (core/peer/configtx_processor.go).
CONFIG_NAMESPACE, CONFIG_KEY = "", "CHANNEL_CONFIG_ENV_BYTES"
# `_lifecycle` validated as a chaincode: its writes answer to LifecycleEndorsement, writes to an
# org's implicit collection to that org's Endorsement policy (lifecycle.ValidatorCommitter).
LIFECYCLE_DEFINITION = ChaincodeDefinition(
    LIFECYCLE_NS, "syscc", 1, None, policy_ref=LIFECYCLE_ENDORSEMENT_REF
)


def collection_members(coll: collection_pb2.StaticCollectionConfig) -> set[str]:
    from fabric_protos.msp import msp_principal_pb2

    out: set[str] = set()
    for p in coll.member_orgs_policy.signature_policy.identities:
        if p.principal_classification == msp_principal_pb2.MSPPrincipal.ROLE:
            out.add(msp_principal_pb2.MSPRole.FromString(p.principal).msp_identifier)
    return out


@dataclass
class HistoryWrite:
    ns: str
    key: str
    block: int
    tx: int
    txid: str
    value: bytes | None
    timestamp: tuple[int, int]


@dataclass
class BlockValidation:
    codes: list[int]
    txs: list[ParsedTx | None]
    batch: UpdateBatch = field(default_factory=UpdateBatch)
    history: list[HistoryWrite] = field(default_factory=list)
    private_kept: dict[int, bytes] = field(default_factory=dict)  # tx num -> TxPvtReadWriteSet
    new_config: configtx_pb2.Config | None = None


class Validator:
    def __init__(
        self,
        channel_config: ChannelConfig,
        chaincode_definitions: Callable[[str], ChaincodeDefinition | None],
        *,
        msp_id: str | None = None,
    ) -> None:
        self.channel_config = channel_config
        self.chaincode_definitions = chaincode_definitions
        self.msp_id = msp_id

    # --- block ----------------------------------------------------------------------------------

    def validate_block(
        self,
        block: common_pb2.Block,
        db: StateDB,
        txid_exists: Callable[[str], bool],
        private_data: dict[str, rwset_pb2.TxPvtReadWriteSet] | None = None,
        txids_existing: Callable[[list[str]], set[str]] | None = None,
    ) -> BlockValidation:
        n = len(block.data.data)
        result = BlockValidation(codes=[Code.NOT_VALIDATED] * n, txs=[None] * n)
        seen_txids: set[str] = set()
        # (ns, coll or "", key) whose metadata an endorsement-valid earlier tx writes
        metadata_touched: set[tuple[str, str, str]] = set()
        defs: dict[str, ChaincodeDefinition | None] = {}
        block_num = block.header.number

        def definition(name: str) -> ChaincodeDefinition | None:
            if name not in defs:
                defs[name] = self.chaincode_definitions(name)
            return defs[name]

        # Parse and check signatures of every tx first (once per block for all the peers of the
        # channel in this process), then load the committed versions of every key the block
        # touches in a few queries (Fabric's bulk preload of read sets).
        pre = _PREPASSES.run(
            (self.channel_config.digest, block_num, bytes(block.header.data_hash)),
            lambda: self._prepass(block),
            # peers whose ledgers agree share the whole validation, so its owner is the one
            # taker; a peer validating on its own at the same moment shares this pass
            1,
        )
        checked, rws, bad_rwset, keys = pre.checked, pre.rws, pre.bad_rwset, pre.keys
        txids = pre.txids
        view = StateView(db, db.get_many(list(keys)))
        on_ledger = txids_existing(txids) if txids_existing is not None else None

        for i, (code, parsed) in enumerate(checked):
            result.txs[i] = parsed
            if code == Code.VALID and parsed is not None:
                if parsed.txid in seen_txids or (
                    parsed.header_type == common_pb2.ENDORSER_TRANSACTION
                    and (
                        parsed.txid in on_ledger
                        if on_ledger is not None
                        else txid_exists(parsed.txid)
                    )
                ):
                    code = Code.DUPLICATE_TXID
                seen_txids.add(parsed.txid)
            rw: TxRWSet | None = None
            if code == Code.VALID and parsed is not None:
                if parsed.header_type == common_pb2.CONFIG:
                    try:
                        env = configtx_pb2.ConfigEnvelope.FromString(parsed.payload.data)
                        result.new_config = env.config
                    except Exception:  # noqa: BLE001 - any decode failure is the same code
                        code = Code.INVALID_OTHER_REASON
                    else:
                        _keep_config(result, parsed, (block_num, i))
                elif i in bad_rwset:
                    code = Code.BAD_RWSET
                else:
                    code, rw = self._vscc(
                        parsed, rws[i], view, result.batch, metadata_touched, definition
                    )
            if code == Code.VALID and rw is not None:
                # Like Fabric's key-level validator, later txs of the block depend on the
                # endorsement-policy outcome of this one, not on its MVCC outcome.
                for ns, kv, colls in rw.ns:
                    metadata_touched.update((ns, "", m.key) for m in kv.metadata_writes)
                    for coll, hashed, _ in colls:
                        metadata_touched.update(
                            (ns, coll, m.key_hash.hex()) for m in hashed.metadata_writes
                        )
                code = check_mvcc(rw, view, result.batch)
            result.codes[i] = code
            if code == Code.VALID and rw is not None and parsed is not None:
                self._apply(i, block_num, parsed, rw, result, view)
            elif code != Code.VALID:
                log.debug(
                    "block %d tx %d invalid: %s",
                    block_num,
                    i,
                    transaction_pb2.TxValidationCode.Name(code),
                )
        return self.with_private(result, block_num, private_data) if private_data else result

    def with_private(
        self,
        validation: BlockValidation,
        block_num: int,
        private_data: dict[str, rwset_pb2.TxPvtReadWriteSet],
    ) -> BlockValidation:
        """A block's (shared) validation plus the private writes this peer keeps: those of
        valid transactions, in collections its org belongs to, matching the block's hashes."""
        batch = UpdateBatch(public=validation.batch.public, hashed=validation.batch.hashed)
        out = BlockValidation(
            codes=validation.codes,
            txs=validation.txs,
            batch=batch,
            history=validation.history,
            new_config=validation.new_config,
        )
        for i, parsed in enumerate(validation.txs):
            if (
                validation.codes[i] != Code.VALID
                or parsed is None
                or parsed.action is None
                or parsed.txid not in private_data
            ):
                continue
            rw = parse_tx_rwset(parsed.action.results)
            kept = self._keep_private(
                private_data[parsed.txid], rw, batch, (block_num, i), self.chaincode_definitions
            )
            if kept is not None:
                out.private_kept[i] = kept.SerializeToString()
        return out

    def replay_block(
        self,
        block: common_pb2.Block,
        codes: list[int],
        private: dict[int, bytes],
        db: StateDB,
    ) -> BlockValidation:
        """Rebuild a committed block's updates from its recorded codes (crash recovery)."""
        n = len(block.data.data)
        result = BlockValidation(codes=list(codes), txs=[None] * n)
        for i, raw in enumerate(block.data.data):
            try:
                parsed = unpack_envelope(raw)
            except ProtoError:
                continue
            result.txs[i] = parsed
            if codes[i] != Code.VALID:
                continue
            if parsed.header_type == common_pb2.CONFIG:
                result.new_config = configtx_pb2.ConfigEnvelope.FromString(
                    parsed.payload.data
                ).config
                _keep_config(result, parsed, (block.header.number, i))
                continue
            if parsed.action is None:
                continue
            rw = parse_tx_rwset(parsed.action.results)
            self._apply(i, block.header.number, parsed, rw, result, db)
            if i in private:
                pvt = rwset_pb2.TxPvtReadWriteSet.FromString(private[i])
                version: Version = (block.header.number, i)
                for nspvt in pvt.ns_pvt_rwset:
                    for cpvt in nspvt.collection_pvt_rwset:
                        kv = kv_rwset_pb2.KVRWSet.FromString(cpvt.rwset)
                        for w in kv.writes:
                            result.batch.put_private(
                                nspvt.namespace,
                                cpvt.collection_name,
                                w.key,
                                None if w.is_delete or not w.value else w.value,
                                version,
                            )
                result.private_kept[i] = private[i]
        return result

    # --- steps 1-3 ------------------------------------------------------------------------------

    def _prepass(self, block: common_pb2.Block) -> _Prepass:
        """Everything about a block that is the same on every peer: parsed txs, header and
        creator checks, parsed rwsets, the keys touched; endorsement signatures are verified
        here too so that the other peers find them in the verification cache."""
        pre = _Prepass(checked=[self._check_tx(raw) for raw in block.data.data])
        msps = self.channel_config.msp_manager
        for i, (code, parsed) in enumerate(pre.checked):
            rw_i: TxRWSet | None = None
            if code == Code.VALID and parsed is not None and parsed.action is not None:
                action = parsed.action
                pre.txids.append(parsed.txid)
                valid_identities(
                    msps,
                    [
                        SignedData(
                            action.proposal_response_payload + e.endorser, e.endorser, e.signature
                        )
                        for e in action.endorsements
                    ],
                )
                try:
                    rw_i = parse_tx_rwset(action.results)
                except Exception:  # noqa: BLE001 - a malformed rwset is BAD_RWSET whatever the cause
                    pre.bad_rwset.add(i)
                else:
                    for ns, kv, _ in rw_i.ns:
                        pre.keys.update((ns, r.key) for r in kv.reads)
                        pre.keys.update((ns, w.key) for w in kv.writes)
                        pre.keys.update((ns, m.key) for m in kv.metadata_writes)
            pre.rws.append(rw_i)
        return pre

    def _check_tx(self, raw: bytes) -> tuple[int, ParsedTx | None]:
        if not raw:
            return Code.NIL_ENVELOPE, None
        try:
            parsed = unpack_envelope(raw)
        except ProtoError as exc:
            return _header_code(exc), None
        chdr = parsed.channel_header
        if chdr.type not in _HEADER_TYPES or chdr.epoch != 0:
            return Code.BAD_COMMON_HEADER, parsed
        if not parsed.nonce or not parsed.creator:
            return Code.BAD_COMMON_HEADER, parsed
        try:
            creator = self.channel_config.msp_manager.deserialize_identity(parsed.creator)
            creator.validate()
        except MSPError as exc:
            log.info("tx %s: creator refused: %s", chdr.tx_id, exc)
            return Code.BAD_CREATOR_SIGNATURE, parsed
        if not creator.verify(parsed.envelope.payload, parsed.envelope.signature):
            log.info("tx %s: creator signature does not verify", chdr.tx_id)
            return Code.BAD_CREATOR_SIGNATURE, parsed
        if chdr.type == common_pb2.CONFIG_UPDATE:
            return Code.UNSUPPORTED_TX_PAYLOAD, parsed
        if chdr.type == common_pb2.ENDORSER_TRANSACTION:
            if compute_txid(parsed.nonce, parsed.creator) != chdr.tx_id:
                return Code.BAD_PROPOSAL_TXID, parsed
            action = parsed.action
            if action is None:
                log.info("tx %s: %s", chdr.tx_id, parsed.action_error)
                return Code.INVALID_ENDORSER_TRANSACTION, parsed
            # Endorsements bind to this proposal: the response's proposal hash must be ours.
            expected = proposal_hash_from_tx(parsed.payload.header.channel_header, action)
            if expected != action.proposal_hash:
                log.info("tx %s: proposal hash in the endorsed response does not match", chdr.tx_id)
                return Code.INVALID_ENDORSER_TRANSACTION, parsed
        if chdr.channel_id != self.channel_config.channel_id:
            return Code.TARGET_CHAIN_NOT_FOUND, parsed
        return Code.VALID, parsed

    # --- step 5: endorsement policies -----------------------------------------------------------

    def _vscc(
        self,
        parsed: ParsedTx,
        rw: TxRWSet | None,
        db: StateDB | StateView,
        batch: UpdateBatch,
        metadata_touched: set[tuple[str, str, str]],
        definition: Callable[[str], ChaincodeDefinition | None],
    ) -> tuple[int, TxRWSet | None]:
        action = parsed.action
        assert action is not None
        try:
            ext = proposal_pb2.ChaincodeHeaderExtension.FromString(parsed.channel_header.extension)
        except Exception:  # noqa: BLE001 - any decode failure is the same code
            return Code.BAD_HEADER_EXTENSION, None
        if rw is None:
            try:
                rw = parse_tx_rwset(action.results)
            except Exception:  # noqa: BLE001 - a malformed rwset is BAD_RWSET whatever the cause
                return Code.BAD_RWSET, None
        # Fabric's plugin dispatcher: the invoked chaincode is named consistently, has a version,
        # owns its event, and is validated whether or not it writes.
        cc_id = ext.chaincode_id.name
        if not cc_id or cc_id != action.namespace or not action.chaincode_id.version:
            return Code.INVALID_CHAINCODE, rw
        if action.events:
            try:
                event = action.event()
            except Exception:  # noqa: BLE001 - an undecodable event is the same failure
                return Code.INVALID_OTHER_REASON, rw
            if event is not None and event.chaincode_id != cc_id:
                return Code.INVALID_OTHER_REASON, rw
        names = [name for name, _, _ in rw.ns]
        if len(set(names)) != len(names):
            return Code.ILLEGAL_WRITESET, rw
        signed = [
            SignedData(action.proposal_response_payload + e.endorser, e.endorser, e.signature)
            for e in action.endorsements
        ]
        endorsers = valid_identities(self.channel_config.msp_manager, signed)
        written = [
            (name, kv, colls)
            for name, kv, colls in rw.ns
            if kv.writes
            or kv.metadata_writes
            or any(h.hashed_writes or h.metadata_writes for _, h, _ in colls)
        ]
        if cc_id not in {name for name, _, _ in written}:
            written.insert(0, (cc_id, kv_rwset_pb2.KVRWSet(), []))
        for name, kv, colls in written:
            # `_lifecycle` is defined on every channel; any other namespace needs a committed
            # definition: a system chaincode (qscc, cscc, lscc) has none, as on Fabric v3.
            cc = LIFECYCLE_DEFINITION if name == LIFECYCLE_NS else definition(name)
            if cc is None:
                log.info(
                    "tx %s invokes or writes namespace %s, which has no chaincode definition",
                    parsed.txid,
                    name,
                )
                return Code.INVALID_CHAINCODE, rw
            code = self._namespace_policies(
                name, kv, colls, cc, endorsers, db, batch, metadata_touched
            )
            if code != Code.VALID:
                return code, rw
        return Code.VALID, rw

    def collection_config(
        self, cc: ChaincodeDefinition, coll: str
    ) -> collection_pb2.StaticCollectionConfig | None:
        """A collection of chaincode `cc` as validation sees it: one of its own, or the implicit
        collection of an org of the channel, whose writes need that org's Endorsement policy."""
        if cc.name != LIFECYCLE_NS:
            own = cc.collection(coll)
            if own is not None:
                return own
        msp_id = implicit_msp(coll)
        if msp_id is None or msp_id not in self.channel_config.orgs:
            return None
        conf = implicit_collection_config(msp_id)
        ref = f"/Channel/Application/{self.channel_config.org_names[msp_id]}/Endorsement"
        if self.channel_config.policy_manager.get_policy(ref) is not None:
            conf.endorsement_policy.channel_config_policy_reference = ref
        else:  # a channel without org Endorsement policies: any member of the org
            conf.endorsement_policy.signature_policy.CopyFrom(
                conf.member_orgs_policy.signature_policy
            )
        return conf

    def _namespace_policies(
        self,
        ns: str,
        kv: kv_rwset_pb2.KVRWSet,
        colls: list[tuple[str, kv_rwset_pb2.HashedRWSet, bytes]],
        cc: ChaincodeDefinition,
        endorsers: list,  # list[Identity]
        db: StateDB | StateView,
        batch: UpdateBatch,
        metadata_touched: set[tuple[str, str, str]],
    ) -> int:
        # Fabric's statebased v20 evaluator: each written key answers to its key-level policy,
        # else (once) to its collection's policy or the chaincode's; at least one policy is checked.
        checked: set[object] = set()  # VALIDATION_PARAMETER bytes, collection names, "" for cc

        def check_vp(vp: bytes) -> bool:
            if vp not in checked:
                if not _safe_eval(policies_pb2.SignaturePolicyEnvelope.FromString(vp), endorsers):
                    return False
                checked.add(vp)
            return True

        def check_cc() -> bool:
            if "" not in checked:
                if cc.endorsement_policy is not None:
                    ok = _safe_eval(cc.endorsement_policy, endorsers)
                else:
                    ref = cc.policy_ref or DEFAULT_ENDORSEMENT_REF
                    ok = self._channel_policy_ok(ref, endorsers)
                if not ok:
                    return False
                checked.add("")
            return True

        def check_coll(coll: str, conf: collection_pb2.StaticCollectionConfig) -> bool:
            marker = ("coll", coll)
            if marker in checked:
                return True
            ep = conf.endorsement_policy
            if ep.HasField("signature_policy"):
                ok = _safe_eval(ep.signature_policy, endorsers)
            elif ep.channel_config_policy_reference:
                ok = self._channel_policy_ok(ep.channel_config_policy_reference, endorsers)
            else:
                return check_cc()
            if ok:
                checked.add(marker)
            return ok

        for key in [w.key for w in kv.writes] + [m.key for m in kv.metadata_writes]:
            if (ns, "", key) in metadata_touched:
                return Code.ENDORSEMENT_POLICY_FAILURE
            vv = db.get(ns, key)
            vp = decode_metadata(vv.metadata).get(VALIDATION_PARAMETER) if vv else None
            if not (check_vp(vp) if vp else check_cc()):
                return Code.ENDORSEMENT_POLICY_FAILURE
        for coll, hashed, _ in colls:
            hkeys = [w.key_hash for w in hashed.hashed_writes] + [
                m.key_hash for m in hashed.metadata_writes
            ]
            if not hkeys:
                continue
            conf = self.collection_config(cc, coll)
            if conf is None:
                log.info("namespace %s writes collection %s, which it does not define", ns, coll)
                return Code.ENDORSEMENT_POLICY_FAILURE
            for kh in hkeys:
                if (ns, coll, kh.hex()) in metadata_touched:
                    return Code.ENDORSEMENT_POLICY_FAILURE
                hv = db.get_hashed(ns, coll, kh)
                vp = decode_metadata(hv.metadata).get(VALIDATION_PARAMETER) if hv else None
                if not (check_vp(vp) if vp else check_coll(coll, conf)):
                    return Code.ENDORSEMENT_POLICY_FAILURE
        if not checked and not check_cc():  # FAB-9473: a policy is always evaluated
            return Code.ENDORSEMENT_POLICY_FAILURE
        return Code.VALID

    def _channel_policy_ok(self, ref: str, endorsers: list) -> bool:
        try:
            return self.channel_config.policy_manager.evaluate_identities(ref, endorsers)
        except PolicyError as exc:
            log.warning("endorsement policy %s cannot be evaluated: %s", ref, exc)
            return False

    # --- apply a valid tx to the batch ----------------------------------------------------------

    def _apply(
        self,
        tx_num: int,
        block_num: int,
        parsed: ParsedTx,
        rw: TxRWSet,
        result: BlockValidation,
        db: StateDB | StateView,
    ) -> None:
        """Fold a valid transaction's writes into the block's batch as Fabric's txops do: an
        empty value is a delete, a delete drops metadata, a value write keeps the key's
        metadata, and a metadata write alone re-writes the key's latest value with the new
        metadata at this version (and is dropped for a key that does not exist)."""
        version: Version = (block_num, tx_num)
        batch = result.batch
        ts = parsed.channel_header.timestamp
        for ns, kv, colls in rw.ns:
            values = {w.key: (None if w.is_delete or not w.value else w.value) for w in kv.writes}
            metadata = {
                m.key: encode_metadata({e.name: e.value for e in m.entries})
                for m in kv.metadata_writes
            }
            for key, value in values.items():
                if value is not None and key in metadata:
                    batch.put_with_metadata(ns, key, value, metadata[key], version)
                else:
                    batch.put(ns, key, value, version)
                result.history.append(
                    HistoryWrite(
                        ns, key, block_num, tx_num, parsed.txid, value, (ts.seconds, ts.nanos)
                    )
                )
            for key, md in metadata.items():
                if key not in values:
                    latest = _latest(batch.public.get((ns, key)), db.get(ns, key))
                    if latest is not None:
                        batch.put_with_metadata(ns, key, latest, md, version)
            for coll, hashed, _ in colls:
                hvalues = {
                    hw.key_hash: (None if _hash_is_delete(hw) else hw.value_hash)
                    for hw in hashed.hashed_writes
                }
                hmetadata = {
                    hm.key_hash: encode_metadata({e.name: e.value for e in hm.entries})
                    for hm in hashed.metadata_writes
                }
                for kh, vh in hvalues.items():
                    if vh is not None and kh in hmetadata:
                        batch.put_hashed_with_metadata(ns, coll, kh, vh, hmetadata[kh], version)
                    else:
                        batch.put_hashed(ns, coll, kh, vh, version)
                for kh, md in hmetadata.items():
                    if kh not in hvalues:
                        latest = _latest(
                            batch.hashed.get((ns, coll, kh)), db.get_hashed(ns, coll, kh)
                        )
                        if latest is not None:
                            batch.put_hashed_with_metadata(ns, coll, kh, latest, md, version)

    def _keep_private(
        self,
        pvt: rwset_pb2.TxPvtReadWriteSet,
        rw: TxRWSet,
        batch: UpdateBatch,
        version: Version,
        definition: Callable[[str], ChaincodeDefinition | None],
    ) -> rwset_pb2.TxPvtReadWriteSet | None:
        """Apply the private writes this peer may keep: member collections with matching hashes."""
        expected = {(ns, coll): h for ns, _, colls in rw.ns for coll, _, h in colls}
        kept = rwset_pb2.TxPvtReadWriteSet(data_model=pvt.data_model)
        for nspvt in pvt.ns_pvt_rwset:
            ns = nspvt.namespace
            cc = LIFECYCLE_DEFINITION if ns == LIFECYCLE_NS else definition(ns)
            keep_ns = rwset_pb2.NsPvtReadWriteSet(namespace=nspvt.namespace)
            for cpvt in nspvt.collection_pvt_rwset:
                want = expected.get((nspvt.namespace, cpvt.collection_name))
                if want is None or hashlib.sha256(cpvt.rwset).digest() != want:
                    log.warning(
                        "private data of %s/%s does not match the hash in the block; not stored",
                        nspvt.namespace,
                        cpvt.collection_name,
                    )
                    continue
                if self.msp_id is not None:
                    conf = self.collection_config(cc, cpvt.collection_name) if cc else None
                    if conf is None or self.msp_id not in collection_members(conf):
                        continue
                kv = kv_rwset_pb2.KVRWSet.FromString(cpvt.rwset)
                for w in kv.writes:
                    batch.put_private(
                        nspvt.namespace,
                        cpvt.collection_name,
                        w.key,
                        None if w.is_delete or not w.value else w.value,
                        version,
                    )
                keep_ns.collection_pvt_rwset.append(cpvt)
            if keep_ns.collection_pvt_rwset:
                kept.ns_pvt_rwset.append(keep_ns)
        return kept if kept.ns_pvt_rwset else None


@dataclass
class _Prepass:
    checked: list[tuple[int, ParsedTx | None]]
    rws: list[TxRWSet | None] = field(default_factory=list)
    bad_rwset: set[int] = field(default_factory=set)
    keys: set[tuple[str, str]] = field(default_factory=set)
    txids: list[str] = field(default_factory=list)


# Parse and signature pass per (config, block number, data hash), shared by a channel's peers.
_PREPASSES: SingleFlight[_Prepass] = SingleFlight()


def _header_code(exc: ProtoError) -> int:
    return exc.code


_HEADER_TYPES = (common_pb2.ENDORSER_TRANSACTION, common_pb2.CONFIG, common_pb2.CONFIG_UPDATE)


def _keep_config(result: BlockValidation, parsed: ParsedTx, version: Version) -> None:
    """A peer keeps the latest channel config in its world state, as Fabric's config
    transaction processor writes it (namespace "", left out of the commit hash)."""
    result.batch.put(CONFIG_NAMESPACE, CONFIG_KEY, bytes(parsed.payload.data), version)


def _latest(pending: KeyUpdate | None, committed: VersionedValue | None) -> bytes | None:
    """A key's value as of the previous transactions of the block (None: it does not exist)."""
    if pending is not None:
        return pending.value if pending.value_written else None
    return committed.value if committed is not None else None


_EMPTY_HASH = hashlib.sha256(b"").digest()


def _hash_is_delete(hw: kv_rwset_pb2.KVWriteHash) -> bool:
    """Fabric's IsKVWriteHashDelete (FAB-18386)."""
    return bool(hw.is_delete or not hw.value_hash or hw.value_hash == _EMPTY_HASH)


def _safe_eval(env: policies_pb2.SignaturePolicyEnvelope, endorsers: list) -> bool:
    try:
        return evaluate_signature_policy(env, endorsers)
    except PolicyError as exc:
        log.warning("endorsement policy cannot be evaluated: %s", exc)
        return False
