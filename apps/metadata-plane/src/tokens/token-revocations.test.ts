import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataPlane, type MetadataPlane } from '../metadata-plane.ts';
import { createMemoryObjectStore } from '../testing/memory-object-store.ts';
import { tokenRevocations } from './token-revocations.ts';

describe('tokenRevocations', () => {
  let plane: MetadataPlane;
  let dir: string;
  let clock = new Date('2026-01-01T00:00:00Z');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-revocations-'));
    plane = await createMetadataPlane({
      mode: 'production',
      database: { type: 'pglite', dataDir: dir },
      objectStore: createMemoryObjectStore(),
      apiServer: 'http://127.0.0.1:1',
      registrationToken: 'registration-token-for-tests',
      seed: {
        teams: [{ id: 'acme', name: 'Acme' }],
        projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
        environments: [{ id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' }],
      },
      logger: pino({ level: 'silent' }),
      now: () => clock,
    });
  });
  afterAll(async () => {
    await plane?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("lists a revoked token for its environment's data plane, bumps its revision, and drops it after the longest token lifetime", async () => {
    const { data_plane_id } = await plane.services.registerDataPlane({
      name: 'east',
      url: 'http://127.0.0.1:2',
    });
    const other = await plane.services.registerDataPlane({ name: 'west', url: 'http://127.0.0.1:3' });
    const token = await plane.services.createServiceToken({
      environmentId: 'dev',
      name: 't',
      permissions: ['query.online'],
    });
    const revision = async () =>
      Number(
        (
          await plane.services.db
            .selectFrom('data_planes')
            .select('revision')
            .where('id', '=', data_plane_id)
            .executeTakeFirstOrThrow()
        ).revision,
      );
    const before = await revision();
    await plane.services.revokeServiceToken(token.id);
    expect(await revision()).toBe(before + 1);
    const at = Math.floor(clock.getTime() / 1000);
    expect(await tokenRevocations(plane.services.db, data_plane_id, clock)).toEqual([
      { id: token.id, issued_before: null, until: at + 3600 + 60 },
    ]);
    // Another data plane does not serve the environment: it is not told.
    expect(await tokenRevocations(plane.services.db, other.data_plane_id, clock)).toEqual([]);
    // Every access token issued before the revocation has expired an hour (plus the margin) later.
    clock = new Date(clock.getTime() + (3600 + 61) * 1000);
    expect(await tokenRevocations(plane.services.db, data_plane_id, clock)).toEqual([]);
  });
});
