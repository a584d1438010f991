// Fabric's official Node gateway client against the engine: evaluate, submit, commit status,
// chaincode events resumed from a file checkpoint by a second client, block and filtered
// block events, and the offline-signing flow.
// Input: {profile, org, user, channel, chaincode, key, value, eventName, checkpointFile}
'use strict';

const { checkpointers } = require('@hyperledger/fabric-gateway');
const { common, peer } = require('@hyperledger/fabric-protos');
const { connectFromProfile, eventJson, main, statusJson, take, utf8 } = require('./common');

function txIdsOf(block) {
    return block
        .getData()
        .getDataList_asU8()
        .map((envBytes) => {
            const env = common.Envelope.deserializeBinary(envBytes);
            const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
            return common.ChannelHeader.deserializeBinary(payload.getHeader().getChannelHeader_asU8()).getTxId();
        });
}

function validationCodesOf(block) {
    const filter = block.getMetadata().getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER];
    return Array.from(filter || []);
}

async function run(input) {
    const out = {};
    const conn = connectFromProfile(input.profile, input.org, input.user);
    let firstBlock;
    let emitted;
    try {
        const network = conn.gateway.getNetwork(input.channel);
        const contract = network.getContract(input.chaincode);

        out.before = utf8(await contract.evaluateTransaction('Get', input.key));
        out.submitResult = utf8(await contract.submitTransaction('Put', input.key, input.value));
        out.after = utf8(await contract.evaluateTransaction('Get', input.key));

        // three events, endorsed first and then submitted together so they can share a block
        const endorsed = [];
        for (let i = 0; i < 3; i++) {
            const proposal = contract.newProposal('EmitEvent', { arguments: [input.eventName, `payload-${i}`] });
            endorsed.push(await proposal.endorse());
        }
        const submitted = [];
        for (const tx of endorsed) submitted.push(await tx.submit());
        const statuses = [];
        for (const s of submitted) statuses.push(statusJson(await s.getStatus()));
        out.statuses = statuses;
        firstBlock = BigInt(Math.min(...statuses.map((s) => s.blockNumber)));
        emitted = statuses.length;

        // the first listener handles one event and stops, its checkpoint persisted in a file
        const checkpointer = await checkpointers.file(input.checkpointFile);
        const events = await network.getChaincodeEvents(input.chaincode, { checkpoint: checkpointer, startBlock: firstBlock });
        const first = [];
        for (const event of await take(events, 1)) {
            first.push(eventJson(event));
            await checkpointer.checkpointChaincodeEvent(event);
        }
        out.firstListener = first;
        out.checkpoint = {
            blockNumber: checkpointer.getBlockNumber() === undefined ? null : Number(checkpointer.getBlockNumber()),
            transactionId: checkpointer.getTransactionId() || null,
        };

        const blocks = await network.getBlockEvents({ startBlock: firstBlock });
        const [block] = await take(blocks, 1);
        out.block = {
            number: Number(block.getHeader().getNumber()),
            txIds: txIdsOf(block),
            validationCodes: validationCodesOf(block),
        };

        const filtered = await network.getFilteredBlockEvents({ startBlock: firstBlock });
        const [fblock] = await take(filtered, 1);
        out.filteredBlock = {
            number: Number(fblock.getNumber()),
            channelId: fblock.getChannelId(),
            transactions: fblock.getFilteredTransactionsList().map((t) => ({
                txId: t.getTxid(),
                code: t.getTxValidationCode(),
                type: t.getType(),
                eventNames: (t.getTransactionActions()
                    ? t.getTransactionActions().getChaincodeActionsList()
                    : []
                ).map((a) => (a.getChaincodeEvent() ? a.getChaincodeEvent().getEventName() : '')),
            })),
        };
        out.peerValidCode = peer.TxValidationCode.VALID;
    } finally {
        conn.close();
    }

    // a second client process would do exactly this: a new connection and the checkpoint file
    const again = connectFromProfile(input.profile, input.org, input.user);
    try {
        const network = again.gateway.getNetwork(input.channel);
        const checkpointer = await checkpointers.file(input.checkpointFile);
        const events = await network.getChaincodeEvents(input.chaincode, { checkpoint: checkpointer, startBlock: firstBlock });
        const rest = [];
        for (const event of await take(events, emitted - out.firstListener.length)) {
            rest.push(eventJson(event));
            await checkpointer.checkpointChaincodeEvent(event);
        }
        out.secondListener = rest;
    } finally {
        again.close();
    }

    // offline signing: a gateway without a signer, every digest signed by a separate signer
    const offline = connectFromProfile(input.profile, input.org, input.user, { withSigner: false });
    try {
        const gw = offline.gateway;
        const contract = gw.getNetwork(input.channel).getContract(input.chaincode);
        const unsigned = contract.newProposal('Put', { arguments: [`${input.key}-offline`, input.value] });
        const proposal = gw.newSignedProposal(unsigned.getBytes(), await offline.signer(unsigned.getDigest()));
        const unsignedTx = await proposal.endorse();
        const tx = gw.newSignedTransaction(unsignedTx.getBytes(), await offline.signer(unsignedTx.getDigest()));
        const unsignedCommit = await tx.submit();
        const commit = gw.newSignedCommit(unsignedCommit.getBytes(), await offline.signer(unsignedCommit.getDigest()));
        out.offline = { transactionId: proposal.getTransactionId(), status: statusJson(await commit.getStatus()) };
    } finally {
        offline.close();
    }
    return out;
}

main(run);
