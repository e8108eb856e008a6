/**
 * The device grant's storage and clock rules on a real metadata plane (PGlite): codes are kept only as
 * hashes, a code past its 10 minutes answers EXPIRED_TOKEN and can no longer be approved.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataPlane, type MetadataPlane } from '../metadata-plane.ts';
import { createMemoryObjectStore } from '../testing/memory-object-store.ts';

let dir: string;
let plane: MetadataPlane;
let offsetMs = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slate-device-grant-'));
  plane = await createMetadataPlane({
    mode: 'embedded',
    database: { type: 'pglite', dataDir: dir },
    objectStore: createMemoryObjectStore(),
    apiServer: 'http://slate.test',
    registrationToken: 'device-grant-registration-token',
    seed: {
      teams: [{ id: 'acme', name: 'Acme' }],
      projects: [{ id: 'fraud', name: 'Fraud', team_id: 'acme' }],
      environments: [{ id: 'dev', name: 'Dev', project_id: 'fraud', team_id: 'acme' }],
      team_invites: [{ id: 'invite-1', team: 'acme', email: 'owner@acme.test', role: 'owner' }],
    },
    now: () => new Date(Date.now() + offsetMs),
    scheduler: { enabled: false },
    logger: pino({ level: 'silent' }),
  });
}, 300_000);
afterAll(async () => {
  await plane?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('device authorization grant', () => {
  it('stores only hashes of the codes, and expires them after 10 minutes', async () => {
    const started = await plane.app.inject({
      method: 'POST',
      url: '/v1/oauth/device/code',
      payload: { client_name: 'laptop' },
    });
    expect(started.statusCode).toBe(200);
    const { device_code, user_code, verification_uri_complete } = started.json() as Record<string, string>;
    expect(verification_uri_complete).toBe(`http://slate.test/device?code=${user_code}`);
    const rows = await plane.services.db.selectFrom('device_authorizations').selectAll().execute();
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(device_code!);
    expect(stored).not.toContain(user_code!);
    expect(stored).not.toContain(user_code!.replace('-', ''));

    offsetMs = 601_000;
    const poll = await plane.app.inject({
      method: 'POST',
      url: '/v1/oauth/device/token',
      payload: { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code },
    });
    expect(poll.statusCode).toBe(400);
    expect((poll.json() as { code: string }).code).toBe('EXPIRED_TOKEN');
    const login = await plane.app.inject({
      method: 'POST',
      url: '/v1/auth/local-login',
      payload: { email: 'owner@acme.test' },
    });
    const cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const late = await plane.app.inject({
      method: 'POST',
      url: '/v1/oauth/device/decision',
      headers: { cookie, 'x-slate-csrf': '1' },
      payload: { user_code, environment_id: 'dev', approve: true },
    });
    expect(late.statusCode).toBe(404);
    expect((late.json() as { code: string }).code).toBe('DEVICE_CODE_NOT_FOUND');
  });
});
