import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from './ports.ts';

const servicesModule = new URL('./services.ts', import.meta.url).href;

/** Runs `requireService` on a closed port in a fresh process with the given `CI` value. */
async function requireClosedPort(ci: string | undefined) {
  const port = await freePort();
  const script = `const { requireService } = await import(${JSON.stringify(servicesModule)});
console.log('reachable=' + (await requireService('Redis', 'redis://127.0.0.1:${port}')));`;
  const env = { ...process.env, CI: ci };
  if (ci === undefined) delete env.CI;
  return promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env,
  }).then(
    ({ stdout }) => ({ ok: true as const, stdout }),
    (error: { stderr: string }) => ({ ok: false as const, stderr: error.stderr }),
  );
}

describe('requireService', () => {
  it('lets a suite skip when its service is missing outside CI', async () => {
    for (const ci of [undefined, '', 'false', '0']) {
      expect(await requireClosedPort(ci)).toEqual({ ok: true, stdout: 'reachable=false\n' });
    }
  });

  it('fails under CI instead of skipping, naming the service', async () => {
    for (const ci of ['true', '1']) {
      const result = await requireClosedPort(ci);
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.stderr).toMatch(/Redis is not reachable at redis:\/\/127\.0\.0\.1:\d+/);
    }
  });
});
