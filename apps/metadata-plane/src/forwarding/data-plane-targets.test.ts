import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlateError } from '@slate/graph';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataPlane, type MetadataPlane } from '../metadata-plane.ts';
import { createMemoryObjectStore } from '../testing/memory-object-store.ts';
import { createDataPlaneTargets } from './data-plane-targets.ts';

const NOW = new Date('2026-12-07T12:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);

describe('createDataPlaneTargets', () => {
  let plane: MetadataPlane;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-targets-'));
    plane = await createMetadataPlane({
      mode: 'production',
      database: { type: 'pglite', dataDir: join(dir, 'db') },
      objectStore: createMemoryObjectStore(),
      apiServer: 'http://api.test',
      registrationToken: 'registration-token-for-targets',
      seed: {
        teams: [{ id: 'acme', name: 'Acme' }],
        projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
        environments: [
          { id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' },
          { id: 'prod', name: 'Production', project_id: 'web', team_id: 'acme' },
          { id: 'lone', name: 'Lone', project_id: 'web', team_id: 'acme' },
        ],
      },
      logger: pino({ level: 'silent' }),
    });
    const db = plane.services.db;
    await db
      .insertInto('data_planes')
      .values([
        { id: 'dp1', name: 'east', url: 'http://east', token_hash: 'x1', public_key: null },
        { id: 'dp2', name: 'west', url: 'http://west', token_hash: 'x2', public_key: null },
      ])
      .execute();
    await db.updateTable('environments').set({ data_plane_id: 'dp1' }).where('id', '=', 'dev').execute();
    await db.updateTable('environments').set({ data_plane_id: 'dp2' }).where('id', '=', 'prod').execute();
    await db.updateTable('environments').set({ data_plane_id: null }).where('id', '=', 'lone').execute();
    const instance = (id: string, url: string, roles: string[], heartbeat: Date | null, planeId = 'dp1') => ({
      data_plane_id: planeId,
      instance_id: id,
      token_hash: `h-${planeId}-${id}`,
      url,
      roles: JSON.stringify(roles),
      version: null,
      public_key: null,
      last_heartbeat_at: heartbeat,
      registered_at: ago(3600),
    });
    await db
      .insertInto('data_plane_instances')
      .values([
        instance('a', 'http://a', ['query', 'persistence'], ago(5)),
        instance('b', 'http://b', ['query'], ago(10)),
        instance('c', 'http://c', ['query'], ago(10)),
        instance('stale', 'http://stale', ['query'], ago(120)),
        instance('jobs', 'http://jobs', ['jobs'], ago(1)),
        instance('w', 'http://w', ['query'], ago(600), 'dp2'),
      ] as never)
      .execute();
  }, 60_000);
  afterAll(async () => {
    await plane?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const targets = () =>
    createDataPlaneTargets({ db: plane.services.db, now: () => NOW, heartbeatTimeoutMs: 60_000 });

  it('spreads requests round robin over the healthy query instances only', async () => {
    const t = targets();
    const firsts: string[] = [];
    for (let i = 0; i < 6; i++) firsts.push((await t.pick('dev'))[0]!);
    expect(firsts).toEqual(['http://a', 'http://b', 'http://c', 'http://a', 'http://b', 'http://c']);
    // The rest follow, so a retried GET goes to the next healthy instance.
    expect(await t.pick('dev')).toEqual(['http://a', 'http://b', 'http://c']);
  });

  it('answers 503 DATA_PLANE_UNAVAILABLE when no instance heart-beat recently', async () => {
    const error = (await targets()
      .pick('prod')
      .catch((e: unknown) => e)) as SlateError;
    expect(error).toBeInstanceOf(SlateError);
    expect([error.kind, error.code]).toEqual(['unavailable', 'DATA_PLANE_UNAVAILABLE']);
  });

  it('names the environment when no data plane serves it', async () => {
    const error = (await targets()
      .pick('lone')
      .catch((e: unknown) => e)) as SlateError;
    expect([error.kind, error.code]).toEqual(['unavailable', 'NO_DATA_PLANE']);
    expect(error.message).toContain('lone');
  });
});
