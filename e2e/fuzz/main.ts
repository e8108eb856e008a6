/**
 * The long fuzz run over every route of both planes, the API host's forwarded routes and the gRPC APIs (the
 * data plane's gRPC port, the API host's gRPC port, `AuthService/GetToken` over Connect on its HTTP port):
 *
 *   npm run fuzz -- [--seed 1] [--runs 20000] [--grpc-runs 10000] [--max-ms 5000] [--only upload_features]
 *     [--grpc-targets dataPlane,apiHost,apiHostHttp]
 *
 * Prints progress, the status counts, the slowest request and every failure (5xx, a request over
 * `--max-ms`, prototype pollution; gRPC: UNKNOWN, INTERNAL, DATA_LOSS, a call over `--max-ms`, a server
 * dead at the end); exits 1 when there is one. The same seed replays the same requests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFuzzTargets } from './fuzz-targets.ts';
import { runGrpcFuzz } from './grpc-fuzz.ts';
import { grpcFuzzTargets } from './grpc-fuzz-targets.ts';
import { runFuzz } from './run-fuzz.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    runs: { type: 'string', default: '20000' },
    'grpc-runs': { type: 'string', default: '10000' },
    'max-ms': { type: 'string', default: '5000' },
    /** Only routes whose URL contains this text (focus a long run on one decoder). */
    only: { type: 'string' },
    /** Only these gRPC targets, comma-separated: dataPlane, apiHost, apiHostHttp (default all). */
    'grpc-targets': { type: 'string', default: 'dataPlane,apiHost,apiHostHttp' },
  },
});
const seed = Number(values.seed);
const dir = await mkdtemp(join(tmpdir(), 'slate-fuzz-'));
const all = await createFuzzTargets(dir);
const only = values.only;
const targets = only ? { ...all, routes: all.routes.filter((route) => route.url.includes(only)) } : all;
const started = performance.now();
console.log(`fuzzing ${targets.routes.length} routes with seed ${seed}, ${values.runs} requests`);
try {
  const report = await runFuzz(targets, {
    seed,
    runs: Number(values.runs),
    maxMs: Number(values['max-ms']),
    onProgress: (done) => {
      if (done % 1000 === 0)
        console.log(`${done} requests, ${Math.round((performance.now() - started) / 1000)} s`);
    },
  });
  console.log(
    JSON.stringify({
      ...report,
      failures: report.failures.length,
      seconds: Math.round((performance.now() - started) / 1000),
    }),
  );
  for (const failure of report.failures) console.log(failure);
  let grpcFailed = false;
  const wanted = new Set(values['grpc-targets'].split(','));
  const grpcTargets = Object.entries(grpcFuzzTargets(all.production)).filter(([name]) => wanted.has(name));
  for (const [name, target] of grpcTargets) {
    const grpcStarted = performance.now();
    console.log(
      `fuzzing gRPC (${name}, ${target.authority}) with seed ${seed}, ${values['grpc-runs']} calls`,
    );
    const grpc = await runGrpcFuzz(target, {
      seed,
      runs: Number(values['grpc-runs']),
      maxMs: Number(values['max-ms']),
      onProgress: (done) => {
        if (done % 1000 === 0)
          console.log(`${done} calls, ${Math.round((performance.now() - grpcStarted) / 1000)} s`);
      },
    });
    console.log(
      JSON.stringify({
        target: name,
        ...grpc,
        failures: grpc.failures.length,
        seconds: Math.round((performance.now() - grpcStarted) / 1000),
      }),
    );
    for (const failure of grpc.failures) console.log(failure);
    grpcFailed ||= grpc.failures.length > 0 || !grpc.aliveAfter;
  }
  process.exitCode = report.failures.length > 0 || grpcFailed ? 1 : 0;
} finally {
  await all.close();
  await rm(dir, { recursive: true, force: true });
}
