// Every block of a channel, received with the Node gateway client's block events, decoded
// down to the read-write sets with Fabric's own protobuf bindings (@hyperledger/fabric-protos),
// and its hashes recomputed as Fabric computes them (protoutil.BlockHeaderHash / BlockDataHash).
// Input: {profile, org, channel}
'use strict';

const crypto = require('node:crypto');
const { common, ledger, msp, peer } = require('@hyperledger/fabric-protos');
const { connectFromProfile, hex, main, take } = require('./common');

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest();

// ---- ASN.1 DER, just enough for Fabric's block header: SEQUENCE {INTEGER, OCTET STRING x2} ----

function derLength(n) {
    if (n < 0x80) return Buffer.from([n]);
    const bytes = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const derTlv = (tag, content) => Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);

function derUnsignedInteger(value) {
    const bytes = [];
    for (let v = BigInt(value); v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
    if (bytes.length === 0 || bytes[0] & 0x80) bytes.unshift(0); // minimal, non-negative
    return derTlv(0x02, Buffer.from(bytes));
}

function headerDer(header) {
    return derTlv(
        0x30,
        Buffer.concat([
            derUnsignedInteger(header.getNumber()),
            derTlv(0x04, Buffer.from(header.getPreviousHash_asU8())),
            derTlv(0x04, Buffer.from(header.getDataHash_asU8())),
        ]),
    );
}

const headerHash = (header) => sha256(headerDer(header));

const dataHash = (block) => sha256(Buffer.concat(block.getData().getDataList_asU8().map((d) => Buffer.from(d))));

// ---- decoding: every nested message a Fabric peer writes ------------------------------------

function decodeEndorserTransaction(payload) {
    const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
    const out = { actions: [] };
    for (const action of tx.getActionsList()) {
        common.SignatureHeader.deserializeBinary(action.getHeader_asU8());
        const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
        const cpp = peer.ChaincodeProposalPayload.deserializeBinary(cap.getChaincodeProposalPayload_asU8());
        const spec = peer.ChaincodeInvocationSpec.deserializeBinary(cpp.getInput_asU8()).getChaincodeSpec();
        const endorsed = cap.getAction();
        const prp = peer.ProposalResponsePayload.deserializeBinary(endorsed.getProposalResponsePayload_asU8());
        const ccAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
        const rwset = ledger.rwset.TxReadWriteSet.deserializeBinary(ccAction.getResults_asU8());
        const namespaces = rwset.getNsRwsetList().map((ns) => {
            const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
            ns.getCollectionHashedRwsetList().forEach((c) =>
                ledger.rwset.kvrwset.HashedRWSet.deserializeBinary(c.getHashedRwset_asU8()),
            );
            const summary = { namespace: ns.getNamespace(), reads: kv.getReadsList().length, writes: kv.getWritesList().length };
            if (ns.getNamespace() === '_lifecycle') summary.readKeys = kv.getReadsList().map((r) => r.getKey());
            return summary;
        });
        const events = ccAction.getEvents_asU8().length
            ? peer.ChaincodeEvent.deserializeBinary(ccAction.getEvents_asU8()).getEventName()
            : '';
        const endorsers = endorsed
            .getEndorsementsList()
            .map((e) => msp.SerializedIdentity.deserializeBinary(e.getEndorser_asU8()).getMspid());
        out.actions.push({
            chaincode: spec.getChaincodeId().getName(),
            function: Buffer.from(spec.getInput().getArgsList_asU8()[0] || []).toString('utf8'),
            responseStatus: ccAction.getResponse().getStatus(),
            namespaces,
            event: events,
            endorsers,
        });
    }
    return out;
}

function decodeEnvelope(envBytes) {
    const env = common.Envelope.deserializeBinary(envBytes);
    const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
    const channelHeader = common.ChannelHeader.deserializeBinary(payload.getHeader().getChannelHeader_asU8());
    common.SignatureHeader.deserializeBinary(payload.getHeader().getSignatureHeader_asU8());
    const out = { type: channelHeader.getType(), txId: channelHeader.getTxId(), channel: channelHeader.getChannelId() };
    if (out.type === common.HeaderType.ENDORSER_TRANSACTION) {
        Object.assign(out, decodeEndorserTransaction(payload));
    } else if (out.type === common.HeaderType.CONFIG) {
        const config = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getConfig();
        out.configGroups = config.getChannelGroup().getGroupsMap().getEntryList().map(([name]) => name).sort();
    }
    return out;
}

// Orderer signatures as Fabric's BlockValidation policy checks them: each signs
// metadata.value || signature_header || ASN.1 header, with the key of the header's creator.
function verifyOrdererSignature(signature, value, derHeader) {
    const sigHeaderBytes = signature.getSignatureHeader_asU8();
    const creator = common.SignatureHeader.deserializeBinary(sigHeaderBytes).getCreator_asU8();
    const identity = msp.SerializedIdentity.deserializeBinary(creator);
    const key = crypto.createPublicKey(Buffer.from(identity.getIdBytes_asU8()));
    const signed = Buffer.concat([Buffer.from(value), Buffer.from(sigHeaderBytes), derHeader]);
    return {
        mspId: identity.getMspid(),
        ok: crypto.verify('sha256', signed, key, Buffer.from(signature.getSignature_asU8())),
    };
}

function decodeMetadata(block) {
    const list = block.getMetadata().getMetadataList_asU8();
    const signatures = common.Metadata.deserializeBinary(list[common.BlockMetadataIndex.SIGNATURES]);
    const value = signatures.getValue_asU8();
    const ordererMetadata = value.length ? common.OrdererBlockMetadata.deserializeBinary(value) : undefined;
    const derHeader = headerDer(block.getHeader());
    return {
        entries: list.length,
        signatures: signatures.getSignaturesList().map((s) => verifyOrdererSignature(s, value, derHeader)),
        lastConfig:
            ordererMetadata && ordererMetadata.getLastConfig()
                ? Number(ordererMetadata.getLastConfig().getIndex())
                : null,
        transactionsFilter: Array.from(list[common.BlockMetadataIndex.TRANSACTIONS_FILTER] || []),
    };
}

async function run(input) {
    const conn = connectFromProfile(input.profile, input.org, 'User1');
    try {
        const network = conn.gateway.getNetwork(input.channel);
        const info = common.BlockchainInfo.deserializeBinary(
            await network.getContract('qscc').evaluateTransaction('GetChainInfo', input.channel),
        );
        const height = Number(info.getHeight());
        const blocks = await take(await network.getBlockEvents({ startBlock: 0n }), height);
        const out = { height, blocks: [] };
        let previous;
        for (const block of blocks) {
            const header = block.getHeader();
            const envelopes = block.getData().getDataList_asU8().map(decodeEnvelope);
            const hash = headerHash(header);
            out.blocks.push({
                number: Number(header.getNumber()),
                headerHash: hex(hash),
                dataHashOk: Buffer.compare(dataHash(block), Buffer.from(header.getDataHash_asU8())) === 0,
                linkOk:
                    previous === undefined
                        ? header.getPreviousHash_asU8().length === 0
                        : Buffer.compare(previous, Buffer.from(header.getPreviousHash_asU8())) === 0,
                metadata: decodeMetadata(block),
                envelopes,
            });
            previous = hash;
        }
        out.chainInfo = {
            currentBlockHash: hex(info.getCurrentblockhash_asU8()),
            previousBlockHash: hex(info.getPreviousblockhash_asU8()),
        };
        return out;
    } finally {
        conn.close();
    }
}

main(run);
