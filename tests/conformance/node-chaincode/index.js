'use strict';
// A small contract on Fabric's official Node chaincode API, served in CCaaS mode, that exercises
// every shim call the embedded peer must answer as Fabric's peer does.
const { Contract } = require('fabric-contract-api');

async function collect(iterator) {
    // next()/close() rather than for-await: the paginated iterator of fabric-shim 2.5.8 is not
    // async-iterable.
    const out = [];
    let res = await iterator.next();
    while (!res.done) {
        out.push({ key: res.value.key, value: Buffer.from(res.value.value).toString('utf8') });
        res = await iterator.next();
    }
    await iterator.close();
    return out;
}

class ConformanceContract extends Contract {
    constructor() {
        super('conformance');
    }

    async put(ctx, key, value) {
        await ctx.stub.putState(key, Buffer.from(value));
        return ctx.stub.getTxID();
    }

    async get(ctx, key) {
        const value = await ctx.stub.getState(key);
        return Buffer.from(value).toString('utf8');
    }

    async del(ctx, key) {
        await ctx.stub.deleteState(key);
    }

    async range(ctx, start, end) {
        return JSON.stringify(await collect(await ctx.stub.getStateByRange(start, end)));
    }

    async rangePage(ctx, start, end, pageSize, bookmark) {
        const { iterator, metadata } = await ctx.stub.getStateByRangeWithPagination(
            start, end, parseInt(pageSize, 10), bookmark);
        const results = await collect(iterator);
        return JSON.stringify({ results, fetched: metadata.fetchedRecordsCount, bookmark: metadata.bookmark });
    }

    async putComposite(ctx, objectType, a, b, value) {
        const key = ctx.stub.createCompositeKey(objectType, [a, b]);
        await ctx.stub.putState(key, Buffer.from(value));
    }

    async partial(ctx, objectType, a) {
        const attrs = a ? [a] : [];
        const out = [];
        for await (const kv of ctx.stub.getStateByPartialCompositeKey(objectType, attrs)) {
            const { attributes } = ctx.stub.splitCompositeKey(kv.key);
            out.push({ attributes, value: Buffer.from(kv.value).toString('utf8') });
        }
        return JSON.stringify(out);
    }

    async history(ctx, key) {
        const out = [];
        for await (const m of ctx.stub.getHistoryForKey(key)) {
            out.push({ txId: m.txId, value: Buffer.from(m.value).toString('utf8'), isDelete: m.isDelete });
        }
        return JSON.stringify(out);
    }

    async event(ctx, name, payload) {
        ctx.stub.setEvent(name, Buffer.from(payload));
    }

    async putPrivate(ctx, collection, key) {
        const value = ctx.stub.getTransient().get('value');
        await ctx.stub.putPrivateData(collection, key, value);
    }

    async getPrivate(ctx, collection, key) {
        return Buffer.from(await ctx.stub.getPrivateData(collection, key)).toString('utf8');
    }

    async privateHash(ctx, collection, key) {
        return Buffer.from(await ctx.stub.getPrivateDataHash(collection, key)).toString('hex');
    }

    async setEndorsementPolicy(ctx, key, policyHex) {
        await ctx.stub.setStateValidationParameter(key, Buffer.from(policyHex, 'hex'));
    }

    async getEndorsementPolicy(ctx, key) {
        return Buffer.from(await ctx.stub.getStateValidationParameter(key)).toString('hex');
    }

    async richQuery(ctx, query) {
        return JSON.stringify(await collect(await ctx.stub.getQueryResult(query)));
    }

    async call(ctx, chaincode, ...args) {
        const res = await ctx.stub.invokeChaincode(chaincode, args, '');
        return JSON.stringify({ status: res.status, payload: Buffer.from(res.payload).toString('utf8') });
    }

    async fail(ctx, message) {
        throw new Error(message);
    }

    async sleep(ctx, ms) {
        await new Promise((resolve) => setTimeout(resolve, parseInt(ms, 10)));
        return 'woke';
    }
}

module.exports.contracts = [ConformanceContract];
