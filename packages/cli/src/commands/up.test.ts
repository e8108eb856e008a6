/**
 * `slate up --project <a repository other than the quickstart>`: the sample query comes from the deployed
 * graph, and a sample that fails does not stop the platform. Real processes on free ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@slate/testing';
import { describe, expect, it } from 'vitest';
import { createTempFeatureRepo, repositoryRoot } from '../temp-feature-repo.ts';

const binPath = fileURLToPath(new URL('../../bin/slate.js', import.meta.url));

/** Runs `slate up --project <project>` until it is up, stops it with SIGINT; answers its output and exit code. */
async function upOnce(project: string): Promise<{ output: string; code: number | null }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'slate-up-state-'));
  const [port, dataPlanePort] = [await freePort(), await freePort()];
  let child: ChildProcess | undefined;
  try {
    child = spawn(
      process.execPath,
      [
        binPath,
        'up',
        '--project',
        project,
        '--state-dir',
        stateDir,
        '--port',
        String(port),
        '--data-plane-port',
        String(dataPlanePort),
        // Tests run side by side: no gRPC on its default ports (4002, 4003).
        '--data-plane-grpc-port',
        'off',
        '--online-store',
        'memory',
      ],
      { cwd: stateDir, env: { ...process.env, FORCE_COLOR: '0', SLATE_CLI_FROM_SOURCE: '1' } },
    );
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`slate up did not start in time:\n${output}`)),
        120_000,
      );
      child!.stdout!.on('data', () => {
        if (output.includes('Press Ctrl-C to stop')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`slate up exited with ${code}:\n${output}`));
      });
    });
    child.kill('SIGINT');
    const code = await exited;
    return { output, code };
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
  }
}

describe('slate up --project', () => {
  it('examples/all-types: queries customer 1 and prints commands for it', async () => {
    const { output, code } = await upOnce(join(repositoryRoot, 'examples', 'all-types'));
    expect(code).toBe(0);
    expect(output).not.toContain('SAMPLE_QUERY_FAILED');
    expect(output).toContain('Slate is up. customer 1 of all-types right now:');
    // examples/all-types/src/sample-data.ts: customer 1 is Ada Lovelace.
    expect(output).toMatch(/customer\.name\s+"Ada Lovelace"/);
    expect(output).toContain('npx slate query --in customer.id=1 --out customer.name --out customer.score');
  }, 180_000);

  it('a repository whose entity 1 does not exist: comes up, showing the sample query errors', async () => {
    const repo = await createTempFeatureRepo({
      'slate.yaml': 'project: gadgets\nentry: src/index.ts\n',
      // Without a seed `slate up` has no environment to deploy to: the example's seed declares one.
      'seed.yaml': await readFile(join(repositoryRoot, 'examples', 'all-types', 'seed.yaml'), 'utf8'),
      'src/index.ts': [
        "import { features, int, online, string } from '@slate/sdk';",
        "export const Gadget = features('gadget', { id: int(), label: string() });",
        'export const label = online({',
        '  inputs: { id: Gadget.id },',
        '  outputs: { label: Gadget.label },',
        '  fn: ({ id }) => {',
        "    if (id !== 7) throw new Error('no gadget ' + String(id));",
        "    return { label: 'seven' };",
        '  },',
        '});',
        '',
      ].join('\n'),
    });
    try {
      const { output, code } = await upOnce(repo.dir);
      expect(code).toBe(0);
      expect(output).toContain('Slate is up. The sample query for gadget 1 answered with errors:');
      expect(output).toContain('no gadget 1');
      expect(output).toContain('npx slate query --in gadget.id=1 --out gadget.label');
    } finally {
      await repo.remove();
    }
  }, 180_000);
});
