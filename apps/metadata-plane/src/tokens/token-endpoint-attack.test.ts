import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataPlane, type MetadataPlane } from '../metadata-plane.ts';
import { createMemoryObjectStore } from '../testing/memory-object-store.ts';
import { latencySummary, runTokenAttack } from '../testing/token-attack.ts';

const SEED = {
  teams: [{ id: 'acme', name: 'Acme' }],
  projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
  environments: [{ id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' }],
};

describe('token endpoint under 300 concurrent wrong secrets', () => {
  let plane: MetadataPlane;
  let dir: string;
  let url: string;
  let credentials: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-attack-'));
    plane = await createMetadataPlane({
      mode: 'embedded',
      database: { type: 'pglite', dataDir: dir },
      objectStore: createMemoryObjectStore(),
      apiServer: 'http://127.0.0.1:1',
      registrationToken: 'registration-token-for-tests',
      seed: SEED,
      logger: pino({ level: 'silent' }),
    });
    url = await plane.listen({ port: 0 });
    credentials = await plane.services.createServiceToken({
      environmentId: 'dev',
      name: 'victim',
      permissions: ['query.online'],
    });
  });
  afterAll(async () => {
    await plane?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers every attacker fast (401, or 429/503 with Retry-After) while /healthz and a valid client keep working', async () => {
    // The victim has exchanged its secret before (as any client that refreshes its token has).
    const warm = await fetch(`${url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret,
        grant_type: 'client_credentials',
      }),
    });
    expect(warm.status).toBe(200);

    // Per-request timeout and bounds are generous: on a 2-core box shared with other suites (load average
    // above 10) requests wait seconds for a CPU. The assertions are about answers and their kind.
    const result = await runTokenAttack({ url, ...credentials, attackers: 300, timeoutMs: 30_000 });
    console.log(
      `token attack: ${JSON.stringify(result.attackStatuses)} in ${Math.round(result.attackWallMs)} ms; ` +
        `healthz ${JSON.stringify(latencySummary(result.healthz))} ms; ` +
        `valid exchange ${JSON.stringify(latencySummary(result.validExchanges))} ms`,
    );
    const statuses = Object.keys(result.attackStatuses).map(Number);
    // Every attacker got an answer (0 = none within 30 s), and none of them a token or a 5xx other than 503.
    expect(statuses.every((s) => s === 401 || s === 429 || s === 503)).toBe(true);
    // The limits engaged: most attempts never reached argon2.
    expect((result.attackStatuses['429'] ?? 0) + (result.attackStatuses['503'] ?? 0)).toBeGreaterThan(150);
    expect(result.malformedRefusals).toBe(0);
    // Not a benchmark (bench/auth.ts measures the figures): only that they answer.
    expect(result.healthz.every((h) => h.status === 200 && h.ms < 20_000)).toBe(true);
    expect(result.validExchanges.every((v) => v.status === 200 && v.ms < 20_000)).toBe(true);
  }, 120_000);
});
