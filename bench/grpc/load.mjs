// Load generator for bench/grpc.ts, in its own process so it never shares the servers' event loop. Runs
// `connections` closed loops for `seconds` against one transport and prints latencies as JSON.
// Usage: node load.mjs '<json options>'. gRPC calls go through @grpc/grpc-js with the .proto files loaded
// by @grpc/proto-loader (as a seed-product TS client would); HTTP calls through fetch (keep-alive).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const options = JSON.parse(process.argv[2]);
const latencies = [];
let failures = 0;

let once;
if (options.mode === 'grpc') {
  const definition = protoLoader.loadSync('chalk/engine/v1/query_server.proto', {
    includeDirs: [options.protoDir],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const Service = grpc.loadPackageDefinition(definition).chalk.engine.v1.QueryService;
  const client = new Service(options.target, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${options.token}`);
  once = () =>
    new Promise((resolve) =>
      client.OnlineQuery(options.request, metadata, (error, response) =>
        resolve(!error && response.errors.length === 0),
      ),
    );
} else {
  const body = JSON.stringify(options.request);
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' };
  once = async () => {
    const response = await fetch(options.target, { method: 'POST', headers, body });
    const json = await response.json();
    return response.ok && json.errors.length === 0;
  };
}

const until = Date.now() + options.seconds * 1000;
const warmUntil = Date.now() + options.warmupSeconds * 1000;
async function loop() {
  while (Date.now() < until) {
    const started = process.hrtime.bigint();
    const ok = await once();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (Date.now() < warmUntil) continue;
    if (ok) latencies.push(ms);
    else failures++;
  }
}
await Promise.all(Array.from({ length: options.connections }, loop));
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.stdout.write(
  JSON.stringify({
    count: latencies.length,
    failures,
    qps: latencies.length / (options.seconds - options.warmupSeconds),
    p50: at(0.5),
    p99: at(0.99),
  }),
);
process.exit(0);
