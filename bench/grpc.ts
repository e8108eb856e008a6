/**
 * `npm run bench -- grpc`: what the gRPC query API costs next to the HTTP JSON API for the same online query
 * (issue 13). One process serves both transports over one gateway and one engine (20 features of one
 * entity computed by in-process TypeScript resolvers, so the engine's work is identical and small); a
 * separate process runs 8 closed-loop clients for `SLATE_BENCH_SECONDS` (default 10, after 2 s of warm-up)
 * per transport: @grpc/grpc-js for gRPC, fetch for HTTP (the baseline). Every call carries a real EdDSA JWT.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  createConcurrencyLimiter,
  createDataPlaneServer,
  createGrpcServer,
  createOnlineStoreFeatureWriter,
  createQueryGateway,
  createTokenVerifier,
  ServedEnvironments,
} from '@slate/data-plane';
import { createEngine, createInProcessRuntime } from '@slate/engine';
import { collectGraph } from '@slate/sdk';
import { createMemoryOnlineStore } from '@slate/stores';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import type { BenchReport } from './report.ts';
import { runLoadScript } from './serving/autocannon.ts';
import * as repo from './serving/repo.ts';

const SECONDS = Number(process.env.SLATE_BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const CONNECTIONS = 8;
const FEATURES = Array.from({ length: 20 }, (_, i) => `live_entity.f${String(i).padStart(3, '0')}`);

interface LoadResult {
  readonly count: number;
  readonly failures: number;
  readonly qps: number;
  readonly p50: number;
  readonly p99: number;
}

async function loadRun(options: Record<string, unknown>): Promise<LoadResult> {
  return (await runLoadScript(new URL('./grpc/load.mjs', import.meta.url), options)) as LoadResult;
}

export async function run(): Promise<BenchReport> {
  const { artifact, functions } = collectGraph(repo);
  const onlineStore = createMemoryOnlineStore();
  await onlineStore.init();
  const served = new ServedEnvironments();
  served.upsert({ id: 'bench', name: 'Benchmark', teamId: 'bench', projectId: 'bench' });
  served.activate('bench', {
    id: 'cbench',
    engine: createEngine({
      graph: artifact,
      runtime: createInProcessRuntime(functions),
      onlineStore,
      environment: 'bench',
      deploymentId: 'cbench',
    }),
  });
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA' };
  const issuer = 'http://metadata.bench';
  const verifier = createTokenVerifier({
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    issuer,
    keys: createLocalJWKSet({ keys: [jwk] }),
  });
  const token = await new SignJWT({ env: 'bench', perms: ['query.online'] })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience('slate')
    .setSubject('bench')
    .setExpirationTime('1h')
    .sign(pair.privateKey);
  const logger = pino({ level: 'warn' });
  const featureWriter = createOnlineStoreFeatureWriter(onlineStore);
  const gateway = createQueryGateway({
    served,
    verifier,
    limiter: createConcurrencyLimiter({ maxInFlight: 512 }),
    featureWriter,
  });
  const app = createDataPlaneServer({
    served,
    verifier,
    logger,
    isReady: () => true,
    featureWriter,
    gateway,
  });
  const httpUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const grpcServer = createGrpcServer({ gateway, logger });
  const grpcPort = await grpcServer.listen({ port: 0, host: '127.0.0.1' });
  const load = loadavg()[0]!;
  try {
    const common = { token, connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS };
    const http = await loadRun({
      ...common,
      mode: 'http',
      target: `${httpUrl}/v1/query/online`,
      request: { inputs: { 'live_entity.id': 7 }, outputs: FEATURES },
    });
    const grpc = await loadRun({
      ...common,
      mode: 'grpc',
      target: `127.0.0.1:${grpcPort}`,
      protoDir: fileURLToPath(new URL('../packages/grpc-api/proto', import.meta.url)),
      request: {
        inputs: { 'live_entity.id': { numberValue: 7 } },
        outputs: FEATURES.map((feature_fqn) => ({ feature_fqn })),
      },
    });
    if (http.failures + grpc.failures > 0)
      throw new Error(`failed calls: http ${http.failures}, grpc ${grpc.failures}`);
    return {
      name: 'grpc',
      title: 'gRPC query API vs HTTP JSON (issue 13)',
      figures: [
        {
          name: 'OnlineQuery p50',
          value: grpc.p50,
          unit: 'ms',
          baseline: http.p50,
          note: 'baseline: POST /v1/query/online',
        },
        { name: 'OnlineQuery p99', value: grpc.p99, unit: 'ms', baseline: http.p99 },
        { name: 'OnlineQuery throughput', value: grpc.qps, unit: 'q/s', baseline: http.qps },
      ],
      notes: `One entity, ${FEATURES.length} features from in-process TypeScript resolvers (same engine work on both transports); ${CONNECTIONS} closed-loop clients in a separate process for ${SECONDS - WARMUP_SECONDS} s after ${WARMUP_SECONDS} s of warm-up; gRPC through @grpc/grpc-js (protos loaded by proto-loader), HTTP through fetch with keep-alive. Both servers share one process and one gateway; every call verifies a real EdDSA JWT (cached after the first). The machine's 1-minute load average was ${load.toFixed(1)} when the run started: on a shared machine the ratios mean more than the absolute figures.`,
    };
  } finally {
    await grpcServer.close();
    await app.close();
    await served.close();
    await onlineStore.close();
  }
}
