/**
 * Shape C's server-side work in one process, for profiling without the HTTP stack (issue 14): a private
 * redis-server, the Redis online store, an engine over `repo.ts` with its resolvers in process, and
 * `runFeatherQueries` on the bench's feather body (100 entities × 20 precomputed features), 8 at a time.
 * Prints this process's CPU per request (all threads) over 3 rounds of 800 requests.
 *
 * Usage: `node --import tsx bench/serving/bulk-inprocess.ts [feather|get]` (`get`: the store's MGET of
 * the same 2,000 keys alone); add `--cpu-prof --cpu-prof-dir <dir>` before `--import` for a profile.
 */
import { createEngine, createInProcessRuntime } from '@slate/engine';
import { collectGraph } from '@slate/sdk';
import { createRedisOnlineStore } from '@slate/stores';
import { freePort } from '@slate/testing';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { runFeatherQueries } from '../../apps/data-plane/src/http/feather-query.ts';
import type { OnlineQueryCall } from '../../apps/data-plane/src/http/online-query.ts';
import { startRedis } from './processes.ts';
import * as repo from './repo.ts';

const port = await freePort();
const redis = await startRedis(port);
const store = createRedisOnlineStore({ url: `redis://127.0.0.1:${port}` });
await store.init();
const graph = collectGraph(repo);
const engine = createEngine({
  graph: graph.artifact,
  runtime: createInProcessRuntime(graph.functions),
  onlineStore: store,
  environment: 'dev',
  deploymentId: 'd1',
});
const ids = Array.from({ length: 100 }, (_, i) => 1000 + i);
const features = Array.from({ length: 20 }, (_, i) => `cached_entity.f${String(i).padStart(3, '0')}`);
const observedAt = Date.now() - 1000;
await store.set(
  'dev',
  ids.flatMap((pkey) => features.map((feature, n) => ({ feature, pkey, value: pkey * 0.5 + n, observedAt }))),
);
const header = Buffer.from(JSON.stringify({ outputs: features }));
const arrow = Buffer.from(
  tableToIPC(tableFromArrays({ 'cached_entity.id': new BigInt64Array(ids.map(BigInt)) }), 'stream'),
);
const u64 = (n: number) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(n));
  return bytes;
};
const body = Buffer.concat([Buffer.from('chal1'), u64(header.length), header, u64(arrow.length), arrow]);
const call: OnlineQueryCall = {
  environment: { id: 'dev', name: 'dev', teamId: 't', projectId: 'p', deployment: null },
  deploymentId: 'd1',
  engine,
};
const keys = ids.flatMap((pkey) => features.map((feature) => ({ feature, pkey })));
const mode = process.argv[2] === 'get' ? 'get' : 'feather';
const one = mode === 'get' ? () => store.get('dev', keys) : () => runFeatherQueries(body, call);

const first = await runFeatherQueries(body, call);
const result = first.outcomes[0]!.result;
if (result.errors.length > 0 || result.columns[0]?.values[0] !== 1000 * 0.5)
  throw new Error(`unexpected answer: ${JSON.stringify(result.errors)}`);
const run = (requests: number) =>
  Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = 0; i < requests / 8; i++) await one();
    }),
  );
await run(400);
for (let round = 0; round < 3; round++) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run(800);
  const spent = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${mode}: ${Math.round((spent.user + spent.system) / 800)} µs CPU/request (this process, all threads), ${Math.round((800 * 100) / seconds)} rows/s wall`,
  );
}
await store.close();
redis.child.kill();
