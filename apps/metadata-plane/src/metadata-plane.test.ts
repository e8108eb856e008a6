import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAccessSuite } from './access.suite.ts';
import { runReplicasSuite } from './data-planes/replicas.suite.ts';
import { type DatabaseFactory, runMetadataPlaneSuite } from './metadata-plane.suite.ts';
import { runModelsSuite } from './models/models.suite.ts';
import { runOidcSuite } from './oidc.suite.ts';

const dirs: string[] = [];
const pglite: DatabaseFactory = {
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slate-mp-'));
    dirs.push(dir);
    return { type: 'pglite', dataDir: dir };
  },
  cleanup: async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  },
};
runMetadataPlaneSuite('PGlite', pglite);
runAccessSuite('PGlite', pglite);
runModelsSuite('PGlite', pglite);
runOidcSuite('PGlite', pglite);
runReplicasSuite('PGlite', pglite);
