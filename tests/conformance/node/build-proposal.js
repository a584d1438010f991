// Builds a transaction proposal with Fabric's official Node gateway client, offline (the gRPC
// client points at a closed port and is never dialled), and prints its bytes and digest as JSON.
// Input (stdin, JSON): {mspId, certPem, keyPem, channel, chaincode, contract?, transaction,
//                       args: [string], transient: {key: string}, endorsingOrganizations: [string]}
'use strict';

const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const { connect, signers } = require('@hyperledger/fabric-gateway');

function readStdin() {
    return new Promise((resolve, reject) => {
        const chunks = [];
        process.stdin.on('data', (c) => chunks.push(c));
        process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        process.stdin.on('error', reject);
    });
}

async function main() {
    const input = JSON.parse(await readStdin());
    const client = new grpc.Client('127.0.0.1:1', grpc.credentials.createInsecure());
    const gateway = connect({
        client,
        identity: { mspId: input.mspId, credentials: Buffer.from(input.certPem) },
        signer: signers.newPrivateKeySigner(crypto.createPrivateKey(input.keyPem)),
    });
    try {
        const contract = gateway.getNetwork(input.channel).getContract(input.chaincode, input.contract);
        const options = { arguments: input.args };
        if (input.transient) options.transientData = input.transient;
        if (input.endorsingOrganizations) options.endorsingOrganizations = input.endorsingOrganizations;
        const proposal = contract.newProposal(input.transaction, options);
        const digest = proposal.getDigest();
        const signature = await signers.newPrivateKeySigner(crypto.createPrivateKey(input.keyPem))(digest);
        process.stdout.write(
            JSON.stringify({
                bytes: Buffer.from(proposal.getBytes()).toString('base64'),
                digest: Buffer.from(digest).toString('base64'),
                transactionId: proposal.getTransactionId(),
                signature: Buffer.from(signature).toString('base64'),
            }),
        );
    } finally {
        gateway.close();
        client.close();
    }
}

main().catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
    process.exit(1);
});
