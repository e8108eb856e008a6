/**
 * The soak: `slate up` serving the quickstart query (`user.name` + `user.risk_score` of user 1) at full
 * speed over N connections, with the process's RSS sampled every second. Used by `npm run soak` (a long
 * run) and by `e2e/soak.e2e.test.ts` (a short one); both judge the run with `judgeSoak`.
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { freePort } from '@slate/testing';
import autocannon from 'autocannon';
import { createProcessGroup, startSlateUp } from '../../e2e/support/index.ts';

const repo = new URL('../..', import.meta.url).pathname;

export interface SoakOptions {
  /** Queries to send (the run stops at whichever of `queries` and `durationS` comes first). */
  readonly queries?: number;
  readonly durationS?: number;
  /** Concurrent connections. Default 8. */
  readonly connections?: number;
  /** Seconds at the start whose samples are not judged (JIT, caches, first file rolls). */
  readonly warmupS: number;
  /** Length of the first and last throughput windows, seconds. */
  readonly windowS: number;
  /** Progress lines (one every `progressEveryS`); default none. */
  readonly log?: (line: string) => void;
  readonly progressEveryS?: number;
  /** How long to wait for background persistence to catch up after the load. Default 120 s. */
  readonly drainTimeoutS?: number;
  /**
   * Diagnostics: loads `probe.mjs` into `slate up`, which appends its `process.memoryUsage()` every 2 s to
   * this file (JSON lines), and writes CPU profiles of the `cpuProfile` windows (`"<from>-<to>,…"`, seconds).
   */
  readonly probe?: { readonly file: string; readonly cpuProfile?: string };
  /**
   * Seconds `slate up` is watched idle before the load, to measure what it spends with no query (the
   * metadata plane's pollers on PGlite, timers): `idleCpuPerS`. Default 10.
   */
  readonly idleS?: number;
}

/** One second of the run. */
export interface SoakSample {
  /** Seconds since the load started. */
  readonly t: number;
  /** Resident set size of the `slate up` process, bytes. */
  readonly rss: number;
  /** Responses in this second: 200s and the rest. */
  readonly ok: number;
  readonly failed: number;
  /** CPU seconds the `slate up` process (all its threads) used in this second. */
  readonly cpu: number;
  /** RSS split: anonymous memory (heaps, native allocations) and file-backed pages (mapped files). */
  readonly rssAnon: number;
  readonly rssFile: number;
}

export interface SoakRun {
  readonly samples: readonly SoakSample[];
  readonly ok: number;
  /** Non-200 responses by status (0 = connection error or timeout). */
  readonly failures: Readonly<Record<string, number>>;
  /** Offline rows of `user.name` and `user.risk_score` observed during the load. */
  readonly offlineRows: { readonly name: number; readonly riskScore: number };
  readonly seconds: number;
  /** Seconds `slate up` took to stop on SIGINT after the run (null: it did not stop within 60 s). */
  readonly stopSeconds: number | null;
  /** CPU seconds per second `slate up` used idle, before the load (see `SoakOptions.idleS`). */
  readonly idleCpuPerS: number;
  readonly machine: {
    readonly cores: number;
    readonly loadBefore: readonly number[];
    readonly loadAfter: readonly number[];
  };
}

/** Starts `slate up` on free ports in a temporary folder, runs the load, checks the offline store, stops. */
export async function runSoak(options: SoakOptions): Promise<SoakRun> {
  const log = options.log ?? (() => {});
  const work = mkdtempSync(join(tmpdir(), 'slate-soak-'));
  const project = join(work, 'quickstart');
  const stateDir = join(work, 'state');
  cpSync(join(repo, 'examples/quickstart'), project, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  const apiPort = await freePort();
  const dataPlanePort = await freePort();
  const loadBefore = loadavg();
  const up = await startUp(work, project, stateDir, apiPort, dataPlanePort, options.probe);
  try {
    log(`slate up is serving (pid ${up.child.pid}); load over ${options.connections ?? 8} connections…`);
    const credentials = JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8'));
    const token = await accessToken(apiPort, credentials);
    const idleS = options.idleS ?? 10;
    const idleFrom = cpuOf(up.child.pid!);
    await new Promise((resolve) => setTimeout(resolve, idleS * 1000));
    const idleCpuPerS = (cpuOf(up.child.pid!) - idleFrom) / idleS;
    log(`idle: ${idleCpuPerS.toFixed(3)} CPU s per s over ${idleS} s`);
    const started = Date.now();
    const load = await drive(up.child.pid!, dataPlanePort, token, options, log);
    const stored = await waitForOffline(stateDir, started, load.ok, options.drainTimeoutS ?? 120, log);
    const stopSeconds = await stop(up.child);
    return {
      ...load,
      offlineRows: stored,
      stopSeconds,
      idleCpuPerS,
      machine: { cores: cpus().length, loadBefore, loadAfter: loadavg() },
    };
  } finally {
    if (up.child.exitCode === null && up.child.signalCode === null) up.child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
}

async function startUp(
  cwd: string,
  project: string,
  stateDir: string,
  apiPort: number,
  dataPlanePort: number,
  probe?: SoakOptions['probe'],
): Promise<{ child: ChildProcess }> {
  const probeEnv = probe
    ? {
        SLATE_SOAK_PROBE: probe.file,
        ...(probe.cpuProfile ? { SLATE_SOAK_CPU_PROFILE: probe.cpuProfile } : {}),
      }
    : {};
  const group = createProcessGroup({
    cwd,
    env: { ...(process.env as Record<string, string>), FORCE_COLOR: '0' },
    // Keep only the tail: a long run must not hold its child's whole output.
    maxOutput: 10_000,
  });
  return startSlateUp(group, {
    project,
    stateDir,
    port: apiPort,
    dataPlanePort,
    nodeArgs: probe ? ['--import', new URL('./probe.mjs', import.meta.url).href] : [],
    env: probeEnv,
    timeoutMs: 120_000,
  });
}

async function accessToken(
  apiPort: number,
  credentials: { client_id: string; client_secret: string },
): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${apiPort}/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: credentials.client_id,
      client_secret: credentials.client_secret,
      grant_type: 'client_credentials',
    }),
  });
  if (!response.ok) throw new Error(`token exchange answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** CPU seconds a process has used, user and system, all threads (Linux `/proc`; 100 ticks a second). */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size of a process and its anonymous and file-backed parts, bytes (Linux `/proc`). */
function rssOf(pid: number): { rss: number; rssAnon: number; rssFile: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const kb = new RegExp(`${name}:\\s+(\\d+)\\s+kB`).exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  };
  return { rss: field('VmRSS'), rssAnon: field('RssAnon'), rssFile: field('RssFile') };
}

async function drive(
  pid: number,
  port: number,
  token: string,
  options: SoakOptions,
  log: (line: string) => void,
): Promise<Omit<SoakRun, 'offlineRows' | 'stopSeconds' | 'machine' | 'idleCpuPerS'>> {
  const samples: SoakSample[] = [];
  const failures: Record<string, number> = {};
  let ok = 0;
  let secondOk = 0;
  let secondFailed = 0;
  const started = performance.now();
  const instance = autocannon({
    url: `http://127.0.0.1:${port}/v1/query/online`,
    method: 'POST',
    connections: options.connections ?? 8,
    // With an amount autocannon ignores its duration: the duration is enforced below.
    ...(options.queries === undefined ? { duration: options.durationS ?? 60 } : { amount: options.queries }),
    timeout: 30,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ inputs: { 'user.id': 1 }, outputs: ['user.name', 'user.risk_score'] }),
  });
  instance.on('response', (_client: unknown, statusCode: number) => {
    if (statusCode === 200) {
      ok++;
      secondOk++;
    } else {
      secondFailed++;
      failures[statusCode] = (failures[statusCode] ?? 0) + 1;
    }
  });
  instance.on('reqError', () => {
    secondFailed++;
    failures[0] = (failures[0] ?? 0) + 1;
  });
  const every = options.progressEveryS ?? 0;
  let cpuBefore = cpuOf(pid);
  const sampler = setInterval(() => {
    const t = samples.length + 1;
    const cpuNow = cpuOf(pid);
    samples.push({ t, ...rssOf(pid), ok: secondOk, failed: secondFailed, cpu: cpuNow - cpuBefore });
    cpuBefore = cpuNow;
    secondOk = 0;
    secondFailed = 0;
    if (every > 0 && t % every === 0) {
      const recent = samples.slice(-every);
      const qps = recent.reduce((sum, s) => sum + s.ok, 0) / recent.length;
      log(`t=${t}s ok=${ok} qps=${qps.toFixed(0)} rss=${(samples.at(-1)!.rss / 2 ** 20).toFixed(0)} MiB`);
    }
  }, 1_000);
  const limit =
    options.queries !== undefined && options.durationS !== undefined
      ? setTimeout(() => instance.stop(), options.durationS * 1000)
      : undefined;
  await new Promise<void>((resolve) => instance.on('done', () => resolve()));
  clearTimeout(limit);
  clearInterval(sampler);
  return { samples, ok, failures, seconds: (performance.now() - started) / 1000 };
}

/**
 * Counts the offline rows of the two features observed since the load started, from the committed files
 * (the union of the commit files' adds minus their removes, as the store itself reads them), until both
 * reach `expected` or the timeout passes.
 */
async function waitForOffline(
  stateDir: string,
  since: number,
  expected: number,
  timeoutS: number,
  log: (line: string) => void,
): Promise<{ name: number; riskScore: number }> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const counts = await countOffline(stateDir, since);
    if ((counts.name >= expected && counts.riskScore >= expected) || Date.now() > deadline) return counts;
    log(`waiting for background persistence: ${counts.name} / ${expected} rows offline`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/**
 * `countOnce`, again when the store changed under it: a checkpoint deletes the commit files it replaces
 * and compaction the data files it merged, so a count that read the folder mid-change is retried.
 */
async function countOffline(stateDir: string, since: number): Promise<{ name: number; riskScore: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await countOnce(stateDir, since);
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function countOnce(stateDir: string, since: number): Promise<{ name: number; riskScore: number }> {
  const root = join(stateDir, 'buckets', 'data');
  const commits = join(root, 'offline', 'dev', '_commits');
  const files = new Set<string>();
  const removed = new Set<string>();
  for (const name of readdirSync(commits).filter((n) => n.endsWith('.json'))) {
    const commit = JSON.parse(readFileSync(join(commits, name), 'utf8')) as {
      adds: { key: string; namespace: string }[];
      removes: string[];
    };
    for (const add of commit.adds) if (add.namespace === 'user') files.add(add.key);
    for (const key of commit.removes) removed.add(key);
  }
  const paths = [...files].filter((key) => !removed.has(key)).map((key) => join(root, key));
  if (paths.length === 0) return { name: 0, riskScore: 0 };
  const duck = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await duck.connect();
  try {
    const list = paths.map((path) => `'${path.replaceAll("'", "''")}'`).join(', ');
    const reader = await connection.runAndReadAll(
      `SELECT feature, count(*)::BIGINT FROM read_parquet([${list}]) WHERE observed_at >= make_timestamp(${since} * 1000) AND feature IN ('user.name', 'user.risk_score') GROUP BY feature`,
    );
    const counts = new Map(reader.getRowsJS().map(([feature, n]) => [String(feature), Number(n)]));
    return { name: counts.get('user.name') ?? 0, riskScore: counts.get('user.risk_score') ?? 0 };
  } finally {
    connection.closeSync();
    duck.closeSync();
  }
}

/** SIGINT, as Ctrl-C; resolves with the seconds it took to exit, or null past 60 s. */
async function stop(child: ChildProcess): Promise<number | null> {
  const started = performance.now();
  const exited = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 60_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  child.kill('SIGINT');
  return (await exited) ? (performance.now() - started) / 1000 : null;
}

/** The verdict on a run, by the criteria scaled to the run's windows. */
export interface SoakVerdict {
  readonly pass: boolean;
  /** RSS at the end of warm-up, the highest after it, and their ratio (pass: ≤ 1.5). */
  readonly rss: {
    readonly warm: number;
    readonly max: number;
    readonly ratio: number;
    readonly pass: boolean;
  };
  /** Median per-second 200s in the first and last windows after warm-up (pass: last ≥ 0.9 × first). */
  readonly throughput: Throughput;
  /**
   * The same per CPU second of the `slate up` process (200s ÷ its CPU seconds in each window): the work one
   * query costs, which neighbours on a shared machine cannot move, unlike wall-clock QPS.
   */
  readonly perCpuSecond: Throughput;
  /**
   * The same per CPU second above idle (the CPU `slate up` spends with no query, `idleCpuPerS`, taken off
   * each second): a fixed cost per wall-clock second otherwise weighs more in a window where neighbours
   * leave the process less CPU, which lowers the plain ratio without any query costing more.
   */
  readonly perBusyCpuSecond: Throughput;
  /** Which the verdict used (`judgeSoak`'s `throughputBy`). */
  readonly throughputBy: 'wall-clock' | 'cpu' | 'cpu-above-idle';
  /** Every 200 computed both values; each must be offline. */
  readonly offline: { readonly expected: number; readonly stored: number; readonly pass: boolean };
  /** Share of responses that were not 200 (pass: ≤ 0.1 %). */
  readonly failedShare: number;
  readonly reasons: readonly string[];
}

export interface Throughput {
  readonly first: number;
  readonly last: number;
  readonly ratio: number;
  readonly pass: boolean;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Judges a run. RSS: the value at the end of warm-up against the highest after it. Throughput: the median
 * of the per-second counts in the first and the last window after warm-up (the median, not the mean, so a
 * neighbour's burst on a shared machine moves it less), wall-clock or per CPU second of the server; the
 * last second, cut short by the run's end, is left out. Offline: rows of each feature observed since the
 * load started, against the 200s (plus the queries in flight when the load stopped).
 */
export function judgeSoak(
  run: SoakRun,
  criteria: {
    warmupS: number;
    windowS: number;
    rssRatio?: number;
    throughputRatio?: number;
    /**
     * `wall-clock` (the criterion, default), `cpu` (per CPU second; for shared machines) or
     * `cpu-above-idle` (per CPU second above the idle cost).
     */
    throughputBy?: 'wall-clock' | 'cpu' | 'cpu-above-idle';
    /** Connections of the run: queries in flight when the load stopped were answered but not counted. */
    connections?: number;
  },
): SoakVerdict {
  const reasons: string[] = [];
  const full = run.samples.slice(0, -1);
  const judged = full.slice(criteria.warmupS);
  if (judged.length < criteria.windowS * 2)
    reasons.push(
      `the run is too short: ${judged.length} s after warm-up, two windows need ${criteria.windowS * 2} s`,
    );
  const warm = full[criteria.warmupS - 1]?.rss ?? 0;
  const max = Math.max(0, ...judged.map((s) => s.rss));
  const rssRatio = warm > 0 ? max / warm : Number.POSITIVE_INFINITY;
  const rssPass = rssRatio <= (criteria.rssRatio ?? 1.5);
  if (!rssPass) reasons.push(`RSS rose to ${rssRatio.toFixed(2)}× its value after warm-up`);
  const minRatio = criteria.throughputRatio ?? 0.9;
  const windows = (rate: (s: SoakSample) => number): Throughput => {
    const first = median(judged.slice(0, criteria.windowS).map(rate));
    const last = median(judged.slice(-criteria.windowS).map(rate));
    const ratio = first > 0 ? last / first : 0;
    return { first, last, ratio, pass: ratio >= minRatio };
  };
  const throughput = windows((s) => s.ok);
  const perCpuSecond = windows((s) => (s.cpu > 0 ? s.ok / s.cpu : 0));
  const busy = (s: SoakSample) => s.cpu - run.idleCpuPerS;
  const perBusyCpuSecond = windows((s) => (busy(s) > 0 ? s.ok / busy(s) : 0));
  const throughputBy = criteria.throughputBy ?? 'wall-clock';
  const judgedThroughput =
    throughputBy === 'cpu' ? perCpuSecond : throughputBy === 'cpu-above-idle' ? perBusyCpuSecond : throughput;
  const per = { 'wall-clock': '', cpu: ' per CPU second', 'cpu-above-idle': ' per CPU second above idle' };
  if (!judgedThroughput.pass)
    reasons.push(
      `throughput${per[throughputBy]} fell to ${judgedThroughput.ratio.toFixed(2)}× the first window's`,
    );
  const stored = Math.min(run.offlineRows.name, run.offlineRows.riskScore);
  // Queries in flight when the load generator stopped were answered (and persisted) but not counted.
  const inFlight = criteria.connections ?? 8;
  const offlinePass = [run.offlineRows.name, run.offlineRows.riskScore].every(
    (rows) => rows >= run.ok && rows <= run.ok + inFlight,
  );
  if (!offlinePass)
    reasons.push(
      `offline rows (user.name ${run.offlineRows.name}, user.risk_score ${run.offlineRows.riskScore}) ≠ ${run.ok} answered queries (+ up to ${inFlight} in flight at the end)`,
    );
  const failed = Object.values(run.failures).reduce((sum, n) => sum + n, 0);
  const failedShare = failed / Math.max(1, failed + run.ok);
  if (failedShare > 0.001) reasons.push(`${failed} responses were not 200: ${JSON.stringify(run.failures)}`);
  return {
    pass: reasons.length === 0,
    rss: { warm, max, ratio: rssRatio, pass: rssPass },
    throughput,
    perCpuSecond,
    perBusyCpuSecond,
    throughputBy,
    offline: { expected: run.ok, stored, pass: offlinePass },
    failedShare,
    reasons,
  };
}
