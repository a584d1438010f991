// Shared by the engine conformance scripts: read the request, connect Fabric's official Node
// gateway client the way an application does (from the sandbox's connection profile), and
// report results and errors as JSON on stdout for the pytest driver.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const { connect, signers, hash } = require('@hyperledger/fabric-gateway');

function readStdin() {
    return new Promise((resolve, reject) => {
        const chunks = [];
        process.stdin.on('data', (c) => chunks.push(c));
        process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        process.stdin.on('error', reject);
    });
}

// The org's own peer, else the host peer that serves a tenant (connection profile rule).
function resolveEndpoint(profile, orgKey, user) {
    const org = profile.organizations[orgKey];
    if (!org) throw new Error(`connection profile has no organization ${orgKey}`);
    const creds = org.users[user];
    if (!creds) throw new Error(`organization ${orgKey} has no user ${user}`);
    const peerName = (org.peers && org.peers[0]) || org.gatewayPeer;
    const peer = profile.peers[peerName];
    if (!peer) throw new Error(`connection profile has no peer ${peerName}`);
    return {
        mspId: org.mspid,
        certPem: fs.readFileSync(creds.cert),
        keyPem: fs.readFileSync(creds.key),
        address: peer.url.replace(/^grpcs?:\/\//, ''),
        tlsCACert: fs.readFileSync(peer.tlsCACert),
        hostname: peer.hostname,
    };
}

function deadline(seconds) {
    return () => ({ deadline: Date.now() + seconds * 1000 });
}

// Connects as `user` of `orgKey`. `withSigner: false` gives a gateway that can only use
// signatures made elsewhere (offline signing); `signer` is returned for that purpose.
function connectFromProfile(profilePath, orgKey, user = 'User1', { withSigner = true } = {}) {
    const profile = JSON.parse(fs.readFileSync(profilePath, 'utf8'));
    const ep = resolveEndpoint(profile, orgKey, user);
    const client = new grpc.Client(ep.address, grpc.credentials.createSsl(ep.tlsCACert), {
        'grpc.ssl_target_name_override': ep.hostname,
        'grpc.max_receive_message_length': 100 * 1024 * 1024,
    });
    const signer = signers.newPrivateKeySigner(crypto.createPrivateKey(ep.keyPem));
    const gateway = connect({
        client,
        identity: { mspId: ep.mspId, credentials: ep.certPem },
        signer: withSigner ? signer : undefined,
        hash: hash.sha256,
        evaluateOptions: deadline(10),
        endorseOptions: deadline(20),
        submitOptions: deadline(10),
        commitStatusOptions: deadline(30),
        chaincodeEventsOptions: deadline(30),
        blockEventsOptions: deadline(30),
    });
    return {
        gateway,
        signer,
        mspId: ep.mspId,
        close() {
            gateway.close();
            client.close();
        },
    };
}

// A signer of a key that belongs to no certificate of the sandbox (a forgery).
function strangerSigner() {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return signers.newPrivateKeySigner(privateKey);
}

// What a caller can read from any error the client throws.
function describeError(err) {
    const out = { name: err && err.constructor ? err.constructor.name : typeof err };
    out.message = err && err.message ? String(err.message) : String(err);
    if (err && typeof err.code === 'number') out.code = err.code;
    if (err && err.transactionId) out.transactionId = err.transactionId;
    if (err && Array.isArray(err.details)) {
        out.details = err.details.map((d) => ({ address: d.address, mspId: d.mspId, message: d.message }));
    }
    return out;
}

// Runs `fn` and returns {ok: result} or {error: describeError(err)}.
async function attempt(fn) {
    try {
        return { ok: await fn() };
    } catch (err) {
        return { error: describeError(err) };
    }
}

const utf8 = (bytes) => Buffer.from(bytes).toString('utf8');
const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const hex = (bytes) => Buffer.from(bytes).toString('hex');

function statusJson(status) {
    return {
        transactionId: status.transactionId,
        code: status.code,
        successful: status.successful,
        blockNumber: Number(status.blockNumber),
    };
}

function eventJson(event) {
    return {
        blockNumber: Number(event.blockNumber),
        transactionId: event.transactionId,
        chaincodeName: event.chaincodeName,
        eventName: event.eventName,
        payload: utf8(event.payload),
    };
}

// Reads up to `count` items from a closeable event iterable, then closes it.
async function take(iterable, count) {
    const items = [];
    try {
        for await (const item of iterable) {
            items.push(item);
            if (items.length >= count) break;
        }
    } finally {
        iterable.close();
    }
    return items;
}

// Entry point of every script: stdin JSON in, stdout JSON out, exit 1 with the stack on a crash.
function main(run) {
    readStdin()
        .then((text) => run(JSON.parse(text)))
        .then((result) => {
            process.stdout.write(JSON.stringify(result));
            process.exit(0);
        })
        .catch((err) => {
            process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
            process.exit(1);
        });
}

module.exports = {
    attempt,
    b64,
    connectFromProfile,
    describeError,
    eventJson,
    hex,
    main,
    statusJson,
    strangerSigner,
    take,
    utf8,
};
