/**
 * `npm run bench -- cli`: the developer loop's commands as users run them — the compiled CLI
 * (`packages/cli/bin/slate.js` → dist/cli/slate.js) against a `slate up` of the quickstart, in separate
 * processes — each next to the floor a Node.js command cannot go below, measured in the same run:
 * - `slate --version` / `--help` against `node -e ''` (a Node process that does nothing);
 * - `slate query` (token cached, and with a fresh token exchange) against `node -e 'await fetch(…)'`
 *   posting the same query with a token in hand (a Node process and one HTTP request);
 * - `slate lint` with the type check: unchanged (cached), after an edit (incremental) and cold, against
 *   `slate lint --no-typecheck` (the graph lint alone).
 * Targets (issue 16): `--help` and `--version` under 0.5 s, `query` under 1 s, wall-clock on this machine.
 * Wall and CPU come from /usr/bin/time around each run; runs of a command and its baseline alternate.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@slate/testing';
import { createProcessGroup, slateBin, startSlateUp } from '../e2e/support/index.ts';
import { type BenchFigure, type BenchReport, machine } from './report.ts';

const exec = promisify(execFile);
const repo = new URL('..', import.meta.url).pathname;
const RUNS = Number(process.env.SLATE_BENCH_RUNS ?? 7);

interface Timed {
  readonly wallMs: number;
  readonly cpuMs: number;
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** One process run under /usr/bin/time: its wall time and user + system CPU; fails if it fails. */
async function timed(args: readonly string[], cwd: string, env: Record<string, string>): Promise<Timed> {
  const { stderr } = await exec('/usr/bin/time', ['-f', 'SLATE_TIME %e %U %S', process.execPath, ...args], {
    cwd,
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  const match = /SLATE_TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr);
  if (!match) throw new Error(`no timing in: ${stderr.slice(-500)}`);
  return { wallMs: Number(match[1]) * 1000, cpuMs: (Number(match[2]) + Number(match[3])) * 1000 };
}

/** `RUNS` alternating runs of a command and its baseline (after one untimed run of each); medians. */
async function compare(
  command: () => Promise<Timed>,
  baseline: () => Promise<Timed>,
  before?: () => void,
): Promise<{ command: Timed; baseline: Timed }> {
  before?.();
  await command();
  await baseline();
  const runs: Timed[] = [];
  const bases: Timed[] = [];
  for (let i = 0; i < RUNS; i++) {
    before?.();
    runs.push(await command());
    bases.push(await baseline());
  }
  const pick = (all: Timed[]) => ({
    wallMs: median(all.map((t) => t.wallMs)),
    cpuMs: median(all.map((t) => t.cpuMs)),
  });
  return { command: pick(runs), baseline: pick(bases) };
}

export async function run(): Promise<BenchReport> {
  const work = mkdtempSync(join(tmpdir(), 'slate-bench-cli-'));
  const project = join(work, 'quickstart');
  cpSync(join(repo, 'examples/quickstart'), project, {
    recursive: true,
    filter: (s) => !s.includes('node_modules'),
  });
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  const group = createProcessGroup({ cwd: work, env: { PATH: process.env.PATH ?? '', FORCE_COLOR: '0' } });
  const loadStart = loadavg()[0]!;
  try {
    const port = await freePort();
    const stateDir = join(work, 'state');
    await startSlateUp(group, {
      project,
      stateDir,
      port,
      dataPlanePort: await freePort(),
      timeoutMs: 300_000,
    });
    const credentials = JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8')) as {
      client_id: string;
      client_secret: string;
    };
    const apiServer = `http://127.0.0.1:${port}`;
    const env = {
      PATH: process.env.PATH ?? '',
      SLATE_API_SERVER: apiServer,
      SLATE_CLIENT_ID: credentials.client_id,
      SLATE_CLIENT_SECRET: credentials.client_secret,
      SLATE_CONFIG_DIR: join(work, 'config'),
    };
    const slate =
      (...args: string[]) =>
      () =>
        timed([slateBin, ...args], project, env);
    const node = (code: string) => () => timed(['--input-type=module', '-e', code], project, env);

    // A token and the data plane's URL for the bare-fetch baseline.
    const token = (await (
      await fetch(`${apiServer}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...credentials, grant_type: 'client_credentials' }),
      })
    ).json()) as { access_token: string; engines?: Record<string, string>; environment_id?: string };
    const engine = Object.values(token.engines ?? {})[0] ?? apiServer;
    const query = { inputs: { 'user.id': 1 }, outputs: ['user.risk_score'] };
    const fetchOnce = node(
      `const r = await fetch(${JSON.stringify(`${engine}/v1/query/online`)}, { method: 'POST', headers: ` +
        `{ authorization: 'Bearer ${token.access_token}', 'content-type': 'application/json', ` +
        `'x-chalk-env-id': ${JSON.stringify(token.environment_id ?? 'dev')} }, body: ${JSON.stringify(JSON.stringify(query))} }); ` +
        `if (r.status !== 200) process.exit(1); await r.json();`,
    );
    const bare = node('');
    const tokens = join(work, 'config', 'tokens');

    const version = await compare(slate('--version'), bare);
    const help = await compare(slate('--help'), bare);
    const queryArgs = ['query', '--in', 'user.id=1', '--out', 'user.risk_score'];
    const cachedQuery = await compare(slate(...queryArgs), fetchOnce);
    const freshQuery = await compare(slate(...queryArgs), fetchOnce, () =>
      rmSync(tokens, { recursive: true, force: true }),
    );
    const untyped = slate('lint', '--no-typecheck');
    const lintCached = await compare(slate('lint'), untyped);
    const resolvers = join(project, 'src/resolvers.ts');
    let tick = Date.now() / 1000;
    const touch = () => {
      tick += 2;
      utimesSync(resolvers, tick, tick);
    };
    const lintEdited = await compare(slate('lint'), untyped, touch);
    // This copy's own cache folder (it has no node_modules of its own): see packages/cli/src/deploy/type-check.ts.
    const caches = [
      join(tmpdir(), 'slate-typecheck', createHash('sha256').update(project).digest('hex').slice(0, 16)),
    ];
    const lintCold = await compare(slate('lint'), untyped, () => {
      for (const folder of caches) rmSync(folder, { recursive: true, force: true });
    });
    const loadEnd = loadavg()[0]!;

    const rows = (
      name: string,
      pair: { command: Timed; baseline: Timed },
      target: string,
      baselineName: string,
    ): BenchFigure[] => [
      {
        name: `${name}, wall`,
        value: pair.command.wallMs,
        unit: 'ms',
        baseline: pair.baseline.wallMs,
        note: target,
      },
      {
        name: `${name}, CPU`,
        value: pair.command.cpuMs,
        unit: 'ms',
        baseline: pair.baseline.cpuMs,
        note: `baseline: ${baselineName}`,
      },
    ];
    return {
      name: 'cli',
      title: 'CLI: the developer loop, compiled, against what a Node.js command cannot go below',
      figures: [
        ...rows('slate --version', version, 'target < 500 ms wall', "`node -e ''`"),
        ...rows('slate --help', help, 'target < 500 ms wall', "`node -e ''`"),
        ...rows(
          'slate query (token cached)',
          cachedQuery,
          'target < 1,000 ms wall',
          'node + one fetch with a token in hand',
        ),
        ...rows(
          'slate query (token exchanged)',
          freshQuery,
          'target < 1,000 ms wall',
          'node + one fetch with a token in hand',
        ),
        ...rows(
          'slate lint, repository unchanged',
          lintCached,
          'type check answered from its cache',
          '`slate lint --no-typecheck`',
        ),
        ...rows(
          'slate lint, after an edit',
          lintEdited,
          'incremental type check',
          '`slate lint --no-typecheck`',
        ),
        ...rows('slate lint, cold', lintCold, 'no type-check cache', '`slate lint --no-typecheck`'),
      ],
      notes: [
        `Each figure is the median of ${RUNS} runs, alternating with its baseline (one untimed run of each first); wall and CPU (user + system) from \`/usr/bin/time\` around each process. The commands run the compiled CLI (\`packages/cli/bin/slate.js\` → dist/cli/slate.js, from \`npm run build\`) from a copy of the quickstart against a \`slate up\` of it (compiled, its own process group), with credentials in \`SLATE_*\` variables and the token cache in \`SLATE_CONFIG_DIR\`. Machine: ${machine.cores} cores, 1-minute load average ${loadStart.toFixed(1)} at the start and ${loadEnd.toFixed(1)} at the end (the run's own \`slate up\` idles meanwhile).`,
        '',
        "Baselines: `node -e ''` is a Node.js process that does nothing: no CLI can start faster on this machine. The query baseline is a Node.js process posting the same query (`user.id=1` → `user.risk_score`) to the data plane with a token already in hand: the floor of a command that makes one request. `slate query (token cached)` reuses the token the previous run cached (0600 file under the config folder); `(token exchanged)` empties that cache first, so it also pays the exchange with the metadata plane. `slate lint` type-checks the repository with the TypeScript compiler (ADR 0015): its baseline is the same command with `--no-typecheck`, so the ratio is what the type check adds — nothing when the repository is unchanged (the result is cached with the size and time of every file it read), an incremental check after an edit (a file's time moved), and a full one cold (the caches deleted).",
        '',
        'Reproduce: `npm run build && npm run bench -- cli` (`SLATE_BENCH_RUNS`, default 7).',
      ].join('\n'),
    };
  } finally {
    await group.stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}
