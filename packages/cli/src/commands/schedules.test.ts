/**
 * `slate schedules …` against the real platform in this process (`startPlatform`: metadata plane on PGlite
 * with its scheduler on the wall clock, one data plane leasing the triggers) serving the quickstart example,
 * with its hourly `user_directory` resolver turned into one every 2 s so the test sees real fires.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Platform, startPlatform } from '@slate/platform';
import { freePort } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../../../examples/quickstart/src/sample-data.ts';
import { applyDeployment } from '../deploy/apply-deployment.ts';
import { runSlate } from './fixtures/run-slate.ts';

const repo = new URL('../../../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'slate-schedules-cli-'));
const project = join(work, 'quickstart');
let platform: Platform;
let deployedAt: number;

/** Runs `slate <args>` with the platform's credentials. */
const slate = (...args: string[]) => runSlate(platform, work, ...args);

async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The first 03:00 UTC strictly after `t` (the oracle for `0 3 * * *`). */
function next0300(t: number): number {
  const day = new Date(t);
  const candidate = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 3);
  return candidate > t ? candidate : candidate + 86_400_000;
}

interface ListedSchedule {
  kind: string;
  name: string;
  schedule: string;
  state: string;
  next_fire_at: string | null;
  last_fired_at: string | null;
}
interface ListedFire {
  due_at: string;
  delivery: string;
  status: string | null;
  operation_id: string | null;
}

const listJson = async () =>
  JSON.parse((await slate('schedules', 'list', '--json')).stdout) as ListedSchedule[];
const firesJson = async (name: string, ...flags: string[]) =>
  JSON.parse((await slate('schedules', 'fires', name, '--json', ...flags)).stdout) as ListedFire[];

beforeAll(async () => {
  cpSync(join(repo, 'examples/quickstart'), project, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  const pipelines = join(project, 'src/pipelines.ts');
  const source = readFileSync(pipelines, 'utf8');
  expect(source).toContain("cron: '1h'");
  writeFileSync(pipelines, source.replace("cron: '1h'", "cron: '2s'"));
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  platform = await startPlatform({
    stateDir: join(work, 'state'),
    host: '127.0.0.1',
    port: await freePort(),
    dataPlanePort: await freePort(),
    seedFile: join(project, 'seed.yaml'),
  });
  deployedAt = Date.now();
  await applyDeployment({ dir: project, client: platform.client, typeCheck: false });
}, 120_000);

afterAll(async () => {
  await platform?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('slate schedules', () => {
  it('lists the deployment’s cron resolver and scheduled query with their next fire', async () => {
    const listed = await eventually(async () => {
      const items = await listJson();
      return items.length === 2 ? items : undefined;
    }, 'the schedules of the deployment');
    const listedAt = Date.now();
    expect(listed.map((s) => [s.kind, s.name, s.schedule, s.state])).toEqual([
      ['query', 'daily_risk', '0 3 * * *', 'PLAY'],
      ['resolver', 'user_directory', '2s', 'PLAY'],
    ]);
    // First seen between the deployment and the listing: next 03:00 UTC after that moment.
    const next = Date.parse(listed[0]!.next_fire_at!);
    expect([next0300(deployedAt), next0300(listedAt)]).toContain(next);
    const table = (await slate('schedules', 'list')).stdout;
    expect(table).toMatch(/kind\s+name\s+schedule\s+state\s+next fire\s+last fire/);
    expect(table).toMatch(
      new RegExp(`query\\s+daily_risk\\s+0 3 \\* \\* \\*\\s+PLAY\\s+${listed[0]!.next_fire_at}\\s+never`),
    );
  });

  it('shows a resolver’s fires with the status of the runs they started', async () => {
    const fires = await eventually(async () => {
      const items = await firesJson('user_directory');
      return items.some((f) => f.status === 'SUCCEEDED') ? items : undefined;
    }, 'a fire whose run succeeded');
    // Newest due time first, each on the 2 s grid.
    const due = fires.map((f) => Date.parse(f.due_at));
    expect(due).toEqual([...due].sort((a, b) => b - a));
    for (const t of due) expect(t % 2_000).toBe(0);
    const done = fires.find((f) => f.status === 'SUCCEEDED')!;
    expect(done.delivery).toBe('accepted');
    // The fire's operation is the run the data plane started for it, and it read every sample user.
    const run = JSON.parse((await slate('runs', 'get', done.operation_id!, '--json')).stdout) as {
      resolver_fqn: string;
      status: string;
      trigger: string;
      rows: number;
    };
    expect(run).toMatchObject({ resolver_fqn: 'user_directory', status: 'succeeded', rows: users.length });
    const table = (await slate('schedules', 'fires', 'user_directory', '--limit', '1')).stdout;
    expect(table.trim().split('\n')).toHaveLength(3); // header, rule, one fire
    expect(table).toMatch(/due\s+delivery\s+status\s+operation\s+attempts\s+error/);
    expect((await firesJson('daily_risk')).length).toBe(0);
    expect((await slate('schedules', 'fires', 'daily_risk')).stdout.trim()).toBe('no fires yet');
  });

  it('pauses a schedule (no next fire, firing stops) and resumes it from a new due time', async () => {
    const paused = await slate('schedules', 'pause', 'user_directory');
    expect(paused.stderr).toBe('');
    expect(paused.stdout).toContain('▸ resolver user_directory paused');
    const pausedAt = Date.now();
    const afterPause = (await listJson()).find((s) => s.name === 'user_directory')!;
    expect(afterPause).toMatchObject({ state: 'PAUSE', next_fire_at: null });
    // Pausing again changes nothing.
    expect(JSON.parse((await slate('schedules', 'pause', 'user_directory', '--json')).stdout)).toMatchObject({
      state: 'PAUSE',
    });
    // Once paused, at most the one due time a pass was already firing still fires (ADR 0004).
    const seen = (await firesJson('user_directory', '--limit', '500')).length;
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const later = await firesJson('user_directory', '--limit', '500');
    expect(later.length - seen).toBeLessThanOrEqual(1);
    expect(later.filter((f) => Date.parse(f.due_at) > pausedAt + 2_000)).toEqual([]);

    const resumed = await slate('schedules', 'resume', 'user_directory', '--kind', 'resolver', '--json');
    const resumedAt = Date.now();
    const view = JSON.parse(resumed.stdout) as ListedSchedule;
    expect(view.state).toBe('PLAY');
    // The paused period is not replayed: the next due time is the first 2 s mark after the resume.
    const next = Date.parse(view.next_fire_at!);
    expect(next % 2_000).toBe(0);
    expect(next).toBeGreaterThan(pausedAt + 5_000);
    expect(next).toBeLessThanOrEqual(resumedAt + 2_000);
    const text = await slate('schedules', 'pause', 'daily_risk');
    expect(text.stdout).toContain('▸ query daily_risk paused');
    expect((await slate('schedules', 'resume', 'daily_risk')).stdout).toMatch(
      /▸ query daily_risk playing: next fire \d{4}-\d\d-\d\dT03:00:00.000Z/,
    );
  });

  it.each([
    [['schedules', 'pause', 'nope'], 4, 'SCHEDULE_NOT_FOUND'],
    [['schedules', 'resume', 'user_directory', '--kind', 'query'], 4, 'SCHEDULE_NOT_FOUND'],
    [['schedules', 'fires', 'daily_risk', '--kind', 'cron'], 2, 'INVALID_INPUT'],
    [['schedules', 'fires', 'daily_risk', '--limit', '0'], 2, 'INVALID_INPUT'],
  ])('slate %j exits %i with %s', async (args, code, error) => {
    const result = await slate(...args);
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(`error[${error}]`);
  });
});
