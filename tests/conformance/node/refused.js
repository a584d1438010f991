// Calls a Fabric gateway must refuse, made with the Node gateway client; each outcome is
// reported as the client sees it.
// Input: {profile, org, user, channel, chaincode, calls?: [evaluate|submit|chaincodeEvents|
//         blockEvents], endorsingOrganizations?: [mspId]}
'use strict';

const { attempt, connectFromProfile, main, take } = require('./common');

async function run(input) {
    const calls = input.calls || ['evaluate', 'submit', 'chaincodeEvents', 'blockEvents'];
    const conn = connectFromProfile(input.profile, input.org, input.user);
    try {
        const network = conn.gateway.getNetwork(input.channel);
        const contract = network.getContract(input.chaincode);
        const options = input.endorsingOrganizations ? { endorsingOrganizations: input.endorsingOrganizations } : {};
        const attempts = {
            evaluate: () => contract.evaluate('Get', { arguments: ['anything'] }),
            submit: () => contract.submit('Put', { arguments: ['intruder', 'value'], ...options }),
            chaincodeEvents: async () => {
                const events = await network.getChaincodeEvents(input.chaincode, { startBlock: 0n });
                return (await take(events, 1)).length;
            },
            blockEvents: async () => {
                const blocks = await network.getBlockEvents({ startBlock: 0n });
                return (await take(blocks, 1)).length;
            },
        };
        const out = {};
        for (const call of calls) out[call] = await attempt(attempts[call]);
        return out;
    } finally {
        conn.close();
    }
}

main(run);
