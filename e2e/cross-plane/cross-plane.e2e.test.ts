import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseFactory } from '../../apps/metadata-plane/src/metadata-plane.suite.ts';
import { runModelsEndToEndSuite } from './models-end-to-end.suite.ts';
import { runScheduledRunsSuite } from './schedules-end-to-end.suite.ts';
import { runSecretsSuite } from './secrets.suite.ts';
import { runUsageSuite } from './usage.suite.ts';

// The suites that start a metadata plane and a real data plane together, on PGlite (the PostgreSQL run is
// cross-plane-postgres.e2e.test.ts). They live here, not in either plane: planes meet only over HTTP.
const dirs: string[] = [];
const pglite: DatabaseFactory = {
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slate-cross-plane-'));
    dirs.push(dir);
    return { type: 'pglite', dataDir: dir };
  },
  cleanup: async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  },
};
runSecretsSuite('PGlite', pglite);
runUsageSuite('PGlite', pglite);
runScheduledRunsSuite('PGlite', pglite);
runModelsEndToEndSuite('PGlite', pglite);
