// Transactions that a Fabric peer must refuse or mark invalid, driven by Fabric's official Node
// gateway client; each outcome is reported as the client and the committed blocks show it.
// Input: {profile, channel, registryArgs: {function, args}, conflictArgs: {function, args},
//         markerArgs: {function, args}, shortOrgs: [mspId]}
'use strict';

const { common } = require('@hyperledger/fabric-protos');
const { attempt, connectFromProfile, main, statusJson, strangerSigner, take } = require('./common');

function txIdOf(envBytes) {
    const env = common.Envelope.deserializeBinary(envBytes);
    const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
    return common.ChannelHeader.deserializeBinary(payload.getHeader().getChannelHeader_asU8()).getTxId();
}

// Every copy of `txId` in the blocks from `startBlock` up to `lastBlock`, with its validation code.
async function copiesOf(network, txId, startBlock, lastBlock) {
    const blocks = await network.getBlockEvents({ startBlock: BigInt(startBlock) });
    const copies = [];
    for (const block of await take(blocks, lastBlock - startBlock + 1)) {
        const number = Number(block.getHeader().getNumber());
        const filter = block.getMetadata().getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER];
        block
            .getData()
            .getDataList_asU8()
            .forEach((env, index) => {
                if (txIdOf(env) === txId) copies.push({ block: number, index, code: filter[index] });
            });
    }
    return copies;
}

// Two endorsements of the same update, submitted together; then the chaincode events from
// their block up to a later marker transaction (only valid transactions' events are delivered).
async function conflictingUpdates(gateway, channel, call, marker) {
    const network = gateway.getNetwork(channel);
    const contract = network.getContract('registry');
    const endorsed = [];
    for (let i = 0; i < 2; i++) {
        endorsed.push(await contract.newProposal(call.function, { arguments: call.args }).endorse());
    }
    const submitted = [];
    for (const tx of endorsed) submitted.push(await tx.submit());
    const statuses = [];
    for (const s of submitted) statuses.push(statusJson(await s.getStatus()));

    const markerTx = await (await contract.newProposal(marker.function, { arguments: marker.args }).endorse()).submit();
    const markerStatus = statusJson(await markerTx.getStatus());
    const startBlock = BigInt(Math.min(...statuses.map((s) => s.blockNumber)));
    const events = await network.getChaincodeEvents('registry', { startBlock });
    const eventTxIds = [];
    try {
        for await (const event of events) {
            eventTxIds.push(event.transactionId);
            if (event.transactionId === markerStatus.transactionId) break;
        }
    } finally {
        events.close();
    }
    return { statuses, marker: markerStatus, eventTxIds };
}

async function forgedSignatures(gateway, channel) {
    const contract = gateway.getNetwork(channel).getContract('smoke');
    const forge = strangerSigner();
    const proposal = contract.newProposal('Put', { arguments: [`forged-${Date.now()}`, 'v'] });
    const forgedProposal = gateway.newSignedProposal(proposal.getBytes(), await forge(proposal.getDigest()));
    const endorse = await attempt(() => forgedProposal.endorse());
    const evaluate = await attempt(async () => Buffer.from(await forgedProposal.evaluate()).toString());

    const tx = await contract.newProposal('Put', { arguments: [`forged-tx-${Date.now()}`, 'v'] }).endorse();
    const forgedTx = gateway.newSignedTransaction(tx.getBytes(), await forge(tx.getDigest()));
    const submit = await attempt(async () => (await forgedTx.submit()).getTransactionId());
    return { endorse, evaluate, submit };
}

async function shortEndorsement(gateway, channel, call, orgs) {
    const contract = gateway.getNetwork(channel).getContract('registry');
    const proposal = contract.newProposal(call.function, { arguments: call.args, endorsingOrganizations: orgs });
    const submitted = await (await proposal.endorse()).submit();
    return statusJson(await submitted.getStatus());
}

async function reusedTransactionId(gateway, channel) {
    const network = gateway.getNetwork(channel);
    const contract = network.getContract('smoke');
    const proposal = contract.newProposal('Put', { arguments: [`dup-${Date.now()}`, 'v'] });
    const tx = await proposal.endorse();
    const first = statusJson(await (await tx.submit()).getStatus());
    // the same signed envelope sent again: the orderer orders it, the peer must mark it
    const again = await tx.submit();
    await again.getStatus();
    // a marker transaction: once it is committed, the second copy is too (ordered before it)
    const marker = statusJson(await (await (await contract.newProposal('Put', { arguments: [`dup-marker-${Date.now()}`, 'v'] }).endorse()).submit()).getStatus());
    const copies = await copiesOf(network, tx.getTransactionId(), first.blockNumber, marker.blockNumber);
    // the committed transaction id endorsed again
    const reendorse = await attempt(() => proposal.endorse());
    return { transactionId: tx.getTransactionId(), first, copies, reendorse };
}

async function run(input) {
    const out = {};
    const tso = connectFromProfile(input.profile, 'tso', 'User1');
    try {
        out.shortEndorsement = await shortEndorsement(tso.gateway, input.channel, input.registryArgs, input.shortOrgs);
        out.reusedTransactionId = await reusedTransactionId(tso.gateway, input.channel);
    } finally {
        tso.close();
    }
    const bsp1 = connectFromProfile(input.profile, 'bsp1', 'User1');
    try {
        out.conflictingUpdates = await conflictingUpdates(bsp1.gateway, input.channel, input.conflictArgs, input.markerArgs);
        out.forgedSignatures = await forgedSignatures(bsp1.gateway, input.channel);
    } finally {
        bsp1.close();
    }
    return out;
}

main(run);
