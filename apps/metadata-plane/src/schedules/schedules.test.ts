import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseFactory } from '../metadata-plane.suite.ts';
import { runSchedulesSuite } from './schedules.suite.ts';

const dirs: string[] = [];
const pglite: DatabaseFactory = {
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slate-schedules-'));
    dirs.push(dir);
    return { type: 'pglite', dataDir: dir };
  },
  cleanup: async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  },
};
runSchedulesSuite('PGlite', pglite);
