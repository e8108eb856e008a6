/**
 * `npm run bench -- forwarding`: what the API host adds when it forwards a query to the data plane (issue 13).
 * A metadata plane (PGlite) and a data plane (in-memory online store) run in this process, the quickstart
 * shape; autocannon runs in its own process (`bench/serving/load.mjs`). The same request is sent straight
 * to the data plane (the baseline) and to the API host, which verifies the JWT, picks a healthy instance and
 * streams the request and answer through. The gRPC case sends `QueryService/OnlineQuery` with @grpc/grpc-js
 * (`bench/grpc/load.mjs`, closed loops) straight to the data plane's gRPC port and to the API host's, which
 * forwards it as an HTTP/2 stream. `SLATE_BENCH_SECONDS` (default 8) sets each run's duration.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { deployRepository, startInProcessPlanes } from '../e2e/support/in-process-planes.ts';
import { accessToken, until } from '../e2e/support/index.ts';
import * as repo from './forwarding/repo.ts';
import { type BenchFigure, type BenchReport, machine } from './report.ts';
import { autocannon, runLoadScript } from './serving/autocannon.ts';

const SECONDS = Number(process.env.SLATE_BENCH_SECONDS ?? 8);
const REGISTRATION = 'bench-forwarding-registration';

interface GrpcLoad {
  readonly count: number;
  readonly failures: number;
  readonly qps: number;
  readonly p50: number;
  readonly p99: number;
}

/** Closed-loop @grpc/grpc-js clients in their own process (the gRPC bench's load generator). */
async function grpcLoad(options: Record<string, unknown>): Promise<GrpcLoad> {
  return (await runLoadScript(new URL('./grpc/load.mjs', import.meta.url), options)) as GrpcLoad;
}

function featherBody(ids: readonly number[]): Buffer {
  const header = Buffer.from(JSON.stringify({ outputs: ['account.doubled'] }));
  const arrow = Buffer.from(
    tableToIPC(tableFromArrays({ 'account.id': new BigInt64Array(ids.map(BigInt)) }), 'stream'),
  );
  const u64 = (n: number) => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64BE(BigInt(n));
    return bytes;
  };
  return Buffer.concat([Buffer.from('chal1'), u64(header.length), header, u64(arrow.length), arrow]);
}

export async function run(): Promise<BenchReport> {
  const dir = await mkdtemp(join(tmpdir(), 'slate-bench-forwarding-'));
  const { freePort } = await import('@slate/testing');
  const [mpGrpcPort, dpGrpcPort] = [await freePort(), await freePort()];
  const planes = await startInProcessPlanes({
    dir,
    registrationToken: REGISTRATION,
    environments: [{ id: 'dev', name: 'Development' }],
    dataPlaneName: 'east',
    dataPlaneGrpcPort: dpGrpcPort,
    metadataGrpc: { dataPlanePort: dpGrpcPort },
  }).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  const { metadata: plane, api, engine } = planes;
  try {
    await plane.listenGrpc({ port: mpGrpcPort });
    const created = await plane.services.createServiceToken({
      environmentId: 'dev',
      name: 'bench',
      permissions: ['deploy.create', 'query.online'],
    });
    const token = await accessToken(api, {
      client_id: created.clientId,
      client_secret: created.clientSecret,
    });
    const deployed = await deployRepository(
      api,
      token,
      new URL('./forwarding/repo.ts', import.meta.url),
      repo,
    );
    if (deployed.status !== 201) throw new Error(`deploy failed: ${await deployed.text()}`);
    const json = JSON.stringify({ inputs: { 'account.id': 21 }, outputs: ['account.doubled'] });
    const jsonHeaders = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    let last: unknown;
    await until(
      async () => {
        const res = await fetch(`${api}/v1/query/online`, {
          method: 'POST',
          headers: jsonHeaders,
          body: json,
        });
        const body = (await res.json()) as { data?: { value: unknown }[] };
        last = body;
        return res.status === 200 && body.data?.[0]?.value === 42 ? true : undefined;
      },
      'a query answered through the API host',
      { timeoutMs: 60_000, intervalMs: 200, context: () => JSON.stringify(last) },
    );
    const feather = featherBody(Array.from({ length: 1000 }, (_, i) => i + 1));
    const featherHeaders = { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' };
    const shapes = [
      {
        label: 'online JSON, 1 connection',
        path: '/v1/query/online',
        connections: 1,
        body: { body: json },
        headers: jsonHeaders,
      },
      {
        label: 'online JSON, 16 connections',
        path: '/v1/query/online',
        connections: 16,
        body: { body: json },
        headers: jsonHeaders,
      },
      {
        label: 'feather 1,000 rows, 4 connections',
        path: '/v1/query/feather',
        connections: 4,
        body: { bodyBase64: feather.toString('base64') },
        headers: featherHeaders,
      },
    ];
    const figures: BenchFigure[] = [];
    const lines: string[] = [];
    for (const shape of shapes) {
      const options = (base: string, duration: number) => ({
        url: `${base}${shape.path}`,
        headers: shape.headers,
        connections: shape.connections,
        duration,
        ...shape.body,
      });
      // Warm both paths (JIT, keep-alive sockets, the JWT verification caches).
      await autocannon(options(engine, 2));
      await autocannon(options(api, 2));
      const direct = await autocannon(options(engine, SECONDS));
      const via = await autocannon(options(api, SECONDS));
      for (const [which, load] of [
        ['direct', direct],
        ['via API host', via],
      ] as const) {
        if (load.non2xx > 0 || load.errors > 0)
          throw new Error(`${shape.label} ${which}: ${load.non2xx} non-2xx, ${load.errors} errors`);
      }
      figures.push(
        {
          name: `${shape.label}: p50`,
          value: via.p50,
          unit: 'ms',
          baseline: direct.p50,
          note: 'baseline: straight to the data plane',
        },
        { name: `${shape.label}: p99`, value: via.p99, unit: 'ms', baseline: direct.p99 },
        { name: `${shape.label}: QPS`, value: via.qps, unit: 'req/s', baseline: direct.qps },
      );
      lines.push(
        `${shape.label}: forwarding adds ${(via.p50 - direct.p50).toFixed(2)} ms at p50 and ${(via.p99 - direct.p99).toFixed(2)} ms at p99.`,
      );
    }
    {
      const label = 'gRPC OnlineQuery, 8 closed loops';
      const common = {
        token,
        connections: 8,
        seconds: SECONDS + 2,
        warmupSeconds: 2,
        mode: 'grpc',
        protoDir: fileURLToPath(new URL('../packages/grpc-api/proto', import.meta.url)),
        request: {
          inputs: { 'account.id': { numberValue: 21 } },
          outputs: [{ feature_fqn: 'account.doubled' }],
        },
      };
      const direct = await grpcLoad({ ...common, target: `127.0.0.1:${dpGrpcPort}` });
      const via = await grpcLoad({ ...common, target: `127.0.0.1:${mpGrpcPort}` });
      if (direct.failures + via.failures > 0 || via.count === 0)
        throw new Error(`${label}: failed calls direct ${direct.failures}, via API host ${via.failures}`);
      figures.push(
        {
          name: `${label}: p50`,
          value: via.p50,
          unit: 'ms',
          baseline: direct.p50,
          note: "baseline: straight to the data plane's gRPC port",
        },
        { name: `${label}: p99`, value: via.p99, unit: 'ms', baseline: direct.p99 },
        { name: `${label}: QPS`, value: via.qps, unit: 'req/s', baseline: direct.qps },
      );
      lines.push(
        `${label}: forwarding adds ${(via.p50 - direct.p50).toFixed(2)} ms at p50 and ${(via.p99 - direct.p99).toFixed(2)} ms at p99.`,
      );
    }
    return {
      name: 'forwarding',
      title: 'API host forwarding (issue 13): data-plane queries through the metadata plane',
      figures,
      notes: [
        `Setup: ${machine.cores} cores shared by the metadata plane (PGlite), the data plane (in-memory online store, one resolver worker) — both in one process, as \`slate up\` runs them — and autocannon in its own process (${SECONDS} s per run after a 2 s warm-up of each path). Slate = the request sent to the API host, which verifies the JWT (signature, issuer, expiry; the data plane applies revocations), looks up the environment's healthy query instances (cached 1 s), and streams request and answer over a keep-alive socket; baseline = the same request sent straight to the data plane. The resolver is one multiplication, so the figures are the HTTP path's. The gRPC case: 8 closed-loop @grpc/grpc-js clients in another process send \`QueryService/OnlineQuery\` straight to the data plane's gRPC port (baseline) and to the API host's gRPC port, which verifies the JWT and forwards the call as an HTTP/2 stream on one shared connection. Both planes share one event loop here, so a forwarded request pays the HTTP work twice on the thread that also serves the data plane: the QPS ratio is the worst case; in the production shape (separate processes or pods) the API host's work runs beside the data plane's, and what a query pays is the latency added.`,
        lines.join(' '),
        `Load average (1-minute) when the run ended: ${loadavg()[0]!.toFixed(1)}; the machine is shared with other work, so compare Slate and baseline within a run, not across runs.`,
        'Reproduce: `npm run bench -- forwarding` (`SLATE_BENCH_SECONDS` sets each run).',
      ].join('\n\n'),
    };
  } finally {
    await planes.close();
    await rm(dir, { recursive: true, force: true });
  }
}
