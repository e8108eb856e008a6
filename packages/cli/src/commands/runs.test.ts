/**
 * `slate runs …` against the real platform in this process (`startPlatform`: metadata plane on PGlite, one
 * data plane) serving the quickstart example, deployed as `slate up` deploys it.
 */
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Platform, startPlatform } from '@slate/platform';
import { freePort } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../../../examples/quickstart/src/sample-data.ts';
import { applyDeployment } from '../deploy/apply-deployment.ts';
import { runSlate } from './fixtures/run-slate.ts';

const repo = new URL('../../../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'slate-runs-cli-'));
const project = join(work, 'quickstart');
let platform: Platform;

/** Runs `slate <args>` with the platform's credentials. */
const slate = (...args: string[]) => runSlate(platform, work, ...args);

beforeAll(async () => {
  cpSync(join(repo, 'examples/quickstart'), project, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  // The copy resolves @slate/sdk from the repository, as an installed project would from its own node_modules.
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  platform = await startPlatform({
    stateDir: join(work, 'state'),
    host: '127.0.0.1',
    port: await freePort(),
    dataPlanePort: await freePort(),
    seedFile: join(project, 'seed.yaml'),
  });
  await applyDeployment({ dir: project, client: platform.client, typeCheck: false });
}, 120_000);

afterAll(async () => {
  await platform?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('slate runs', () => {
  it('triggers a run, follows it to the end, then lists, shows and refuses to cancel it', async () => {
    const triggered = await slate(
      'runs',
      'trigger',
      'user_directory',
      '--wait',
      '--idempotency-key',
      'cli-1',
    );
    expect(triggered.stderr).toBe('');
    expect(triggered.code).toBe(0);
    const id = /▸ run (run_\w+) of user_directory: received/.exec(triggered.stdout)?.[1];
    expect(id).toBeDefined();
    // The example's directory resolver returns every sample user.
    expect(triggered.stdout).toContain(`▸ succeeded: ${users.length} rows`);

    const again = await slate('runs', 'trigger', 'user_directory', '--idempotency-key', 'cli-1', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ id, status: 'succeeded' });

    const listed = await slate(
      'runs',
      'list',
      '--resolver',
      'user_directory',
      '--status',
      'succeeded',
      '--json',
    );
    expect(listed.code).toBe(0);
    const page = JSON.parse(listed.stdout) as { runs: { id: string; status: string; rows: number }[] };
    expect(page.runs).toEqual([expect.objectContaining({ id, status: 'succeeded', rows: users.length })]);
    expect((await slate('runs', 'list')).stdout).toMatch(
      new RegExp(`${id}\\s+user_directory\\s+succeeded\\s+API`),
    );

    const shown = await slate('runs', 'get', id!);
    expect(shown.stdout).toMatch(/status\s+succeeded/);
    expect(shown.stdout).toMatch(new RegExp(`rows\\s+${users.length}`));

    const cancel = await slate('runs', 'cancel', id!);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain('error[RUN_ALREADY_FINISHED]');
  });

  it.each([
    [['runs', 'get', 'run_nope'], 4, 'RUN_NOT_FOUND'],
    [['runs', 'trigger', 'nope'], 4, 'RESOLVER_NOT_FOUND'],
    [['runs', 'trigger', 'get_user', '--wait'], 2, 'INVALID_RUN'],
    [['runs', 'list', '--status', 'sleeping'], 2, 'INVALID_INPUT'],
    [['runs', 'trigger', 'user_directory', '--lower-bound', 'yesterday'], 2, 'INVALID_INPUT'],
    [['runs', 'incremental', 'user_directory'], 2, 'NOT_INCREMENTAL'],
    [['runs', 'incremental', 'user_directory', '--set', '2026-01-01', '--drop'], 2, 'INVALID_INPUT'],
  ])('slate %j exits %i with %s', async (args, code, error) => {
    const result = await slate(...args);
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(`error[${error}]`);
  });
});
