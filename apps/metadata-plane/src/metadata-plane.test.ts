import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMetadataPlaneSuite } from './metadata-plane.suite.ts';

const dirs: string[] = [];
runMetadataPlaneSuite('PGlite', {
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slate-mp-'));
    dirs.push(dir);
    return { type: 'pglite', dataDir: dir };
  },
  cleanup: async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  },
});
