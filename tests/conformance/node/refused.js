// A client identity from another tenant (not a member of the channel) tries every call the
// Node gateway client has; each outcome is reported as the client sees it.
// Input: {profile, org, user, channel, chaincode}
'use strict';

const { attempt, connectFromProfile, main, take } = require('./common');

async function run(input) {
    const conn = connectFromProfile(input.profile, input.org, input.user);
    try {
        const network = conn.gateway.getNetwork(input.channel);
        const contract = network.getContract(input.chaincode);
        return {
            evaluate: await attempt(() => contract.evaluateTransaction('Get', 'anything')),
            submit: await attempt(() => contract.submitTransaction('Put', 'intruder', 'value')),
            chaincodeEvents: await attempt(async () => {
                const events = await network.getChaincodeEvents(input.chaincode, { startBlock: 0n });
                return (await take(events, 1)).length;
            }),
            blockEvents: await attempt(async () => {
                const blocks = await network.getBlockEvents({ startBlock: 0n });
                return (await take(blocks, 1)).length;
            }),
        };
    } finally {
        conn.close();
    }
}

main(run);
