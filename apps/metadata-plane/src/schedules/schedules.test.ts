import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSchedulesSuite } from './schedules.suite.ts';

const dirs: string[] = [];
runSchedulesSuite('PGlite', {
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slate-schedules-'));
    dirs.push(dir);
    return { type: 'pglite', dataDir: dir };
  },
  cleanup: async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  },
});
