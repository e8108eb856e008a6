/**
 * `slate diff` and the visible `slate apply` against the real platform in this process serving the
 * quickstart example: the target, the diff against the active deployment (a feature added and described,
 * a schedule changed), the rollout on the data plane's instance, and the dirty mark and diff hash recorded
 * with the deployment.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QuickstartPlatform, startQuickstartPlatform } from './fixtures/quickstart-platform.ts';
import { runSlate } from './fixtures/run-slate.ts';

let qs: QuickstartPlatform;
const slate = (...args: string[]) => runSlate(qs.platform, qs.project, ...args);
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd: qs.project,
    encoding: 'utf8',
  });

beforeAll(async () => {
  qs = await startQuickstartPlatform('slate-apply-cli-');
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'quickstart');
}, 180_000);
afterAll(async () => {
  await qs?.close();
});

describe('slate diff / apply', () => {
  it('shows the target and no change against the deployment it came from', async () => {
    const run = await slate('diff');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `▸ target  ${qs.platform.apiServer} · team acme · project fraud · environment Development (dev)`,
    );
    expect(run.stdout).toMatch(/▸ diff against active deployment \S+/);
    expect(run.stdout).toContain('  no feature, resolver or schedule changes');
    expect(run.stdout).toContain('  code unchanged');
  });

  it('plans an edit, then applies it with progress, recording the dirty mark and the diff hash', {
    timeout: 120_000,
  }, async () => {
    const features = join(qs.project, 'src/features.ts');
    writeFileSync(
      features,
      readFileSync(features, 'utf8').replace(
        '    name: string(),\n',
        "    name: string().describe('Full name'),\n    nickname: string().nullable(),\n",
      ),
    );
    const pipelines = join(qs.project, 'src/pipelines.ts');
    writeFileSync(pipelines, readFileSync(pipelines, 'utf8').replace("cron: '1h',", "cron: '2h',"));

    const plan = await slate('plan', '--json');
    expect(plan.code).toBe(0);
    const planned = JSON.parse(plan.stdout) as {
      target: unknown;
      features: unknown;
      resolvers: { changed: string[] };
      schedules: { changed: unknown[] };
      code_changed: boolean;
      git: { dirty: boolean };
      diff_hash: string;
    };
    expect(planned.target).toMatchObject({ team_id: 'acme', project_id: 'fraud', environment_id: 'dev' });
    expect(planned.features).toEqual({ added: ['user.nickname'], removed: [], changed: ['user.name'] });
    expect(planned.resolvers.changed).toEqual(['user_directory']);
    expect(planned.schedules.changed).toEqual([
      { name: 'resolver user_directory', before: '"1h"', after: '"2h"' },
    ]);
    expect(planned.code_changed).toBe(true);
    expect(planned.git.dirty).toBe(true);
    expect(planned.diff_hash).toMatch(/^[0-9a-f]{64}$/);

    const apply = await slate('apply');
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    const lines = apply.stdout.split('\n');
    expect(lines).toContain('  + feature user.nickname');
    expect(lines).toContain('  ~ feature user.name');
    expect(lines).toContain('  ~ schedule resolver user_directory: "1h" → "2h"');
    expect(lines).toContain(`▸ diff hash ${planned.diff_hash}`);
    expect(apply.stdout).toMatch(/▸ validation… accepted as deployment (\S+)/);
    const id = /accepted as deployment (\S+)/.exec(apply.stdout)![1]!;
    expect(lines.filter((line) => /^ {2}✓ \S+\/\S+ serves /.test(line))).toEqual([
      expect.stringMatching(new RegExp(`serves ${id}$`)),
    ]);
    expect(apply.stdout).toMatch(
      new RegExp(`▸ ready: deployment ${id} serves Development \\(dev\\) after \\d+\\.\\ds`),
    );

    const list = await slate('deployments', 'list', '--json');
    const recorded = (JSON.parse(list.stdout) as { items: Record<string, unknown>[] }).items.find(
      (d) => d.id === id,
    );
    expect(recorded).toMatchObject({ dirty: true, diff_hash: planned.diff_hash, status: 'SUCCESS' });
    expect((recorded?.git as Record<string, string> | undefined)?.commit).toBe(
      git('rev-parse', 'HEAD').trim(),
    );

    // Against the new active deployment, nothing is left to deploy.
    const after = await slate('diff', '--json');
    expect(JSON.parse(after.stdout)).toMatchObject({
      base_deployment_id: id,
      features: { added: [], removed: [], changed: [] },
      code_changed: false,
    });
  });
});
