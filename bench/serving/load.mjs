// Load generator for bench/serving.ts, run in its own process so it never shares the server's event loop.
// Usage: node load.mjs '<json options>'; prints autocannon's result as JSON. `bodyBase64` carries binary
// bodies intact (the autocannon CLI reads body files as UTF-8 text).
import autocannon from 'autocannon';

const options = JSON.parse(process.argv[2]);
const body = options.bodyBase64 === undefined ? options.body : Buffer.from(options.bodyBase64, 'base64');
const result = await autocannon({
  url: options.url,
  method: 'POST',
  headers: options.headers,
  body,
  connections: options.connections,
  duration: options.duration,
});
// The load generator's own CPU (µs), so a bench can say how much of the machine the load took.
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ ...result, loadCpuUs: cpu.user + cpu.system }));
