#!/usr/bin/env node
// `npm run build`: compiles every process Slate starts into dist/ with esbuild, then builds the web UI.
// Plain JavaScript so it runs before anything is compiled (`npm start` builds first). See
// docs/adr/0005-compiled-build.md for the choices: why esbuild, why third-party packages stay external.
//
//   dist/metadata-plane/main.js     apps/metadata-plane/src/main.ts
//   dist/data-plane/main.js         apps/data-plane/src/main.ts (every SLATE_ROLE)
//   dist/cli/slate.js               packages/cli/src/slate.ts (the `slate` command, `slate up` included)
//   dist/workers/resolver-worker.js packages/engine/src/runtime/worker/worker-main.ts (started per deployment)
//   dist/chunks/*.js                code shared by those, loaded on demand (CLI commands load lazily)
//   apps/web/dist/                  the web UI (vite), served by the metadata plane
//
// Every entry and chunk sits one folder below dist/: the engine finds the worker at
// `../workers/resolver-worker.js` from its own module, wherever esbuild put it.
//
// Flags: --no-web skips the web UI (tests that need only the processes). The web UI is rebuilt only when a
// file it is built from is newer than apps/web/dist/index.html (a second `npm start` skips it), or with --force.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const started = performance.now();

/** The workspace's own packages are TypeScript and get compiled in; every other package is imported at run time. */
const externalPackages = {
  name: 'external-packages',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@slate/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

// Built beside dist/ and swapped in, so a process or test reading dist/ meanwhile never sees half a build.
const next = `dist.next-${process.pid}`;
const result = await build({
  absWorkingDir: root,
  entryPoints: {
    'metadata-plane/main': 'apps/metadata-plane/src/main.ts',
    'data-plane/main': 'apps/data-plane/src/main.ts',
    'cli/slate': 'packages/cli/src/slate.ts',
    'workers/resolver-worker': 'packages/engine/src/runtime/worker/worker-main.ts',
  },
  outdir: next,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Stack traces point at the TypeScript (run with --enable-source-maps; the charts and Dockerfile do).
  sourcemap: 'linked',
  // No keepNames: its `__name` wrappers land in hot closures (BENCHMARKS.md, Shape A profile).
  keepNames: false,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [externalPackages],
});
if (result.errors.length > 0) process.exit(1);
const previous = `${root}/dist.old-${process.pid}`;
// Two builds at once (parallel test runs) may swap in turn: whichever renames last wins, both are whole.
for (let attempt = 0; ; attempt++) {
  try {
    if (existsSync(`${root}/dist`)) renameSync(`${root}/dist`, previous);
    renameSync(`${root}/${next}`, `${root}/dist`);
    break;
  } catch (error) {
    if (attempt >= 20 || !['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes(error.code)) throw error;
    rmSync(previous, { recursive: true, force: true });
  }
}
rmSync(previous, { recursive: true, force: true });
const compiled = performance.now();

/** The newest modification time (ms) of the files under `path`, node_modules and dist aside. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(
    0,
    ...readdirSync(path)
      .filter((name) => name !== 'node_modules' && name !== 'dist')
      .map((name) => newest(join(path, name))),
  );
}

const webIndex = join(root, 'apps/web/dist/index.html');
const webUpToDate =
  !process.argv.includes('--force') &&
  existsSync(webIndex) &&
  statSync(webIndex).mtimeMs >= newest(join(root, 'apps/web'));
const buildWeb = !process.argv.includes('--no-web') && !webUpToDate;
if (buildWeb) {
  const web = spawnSync('npm', ['run', 'build', '--workspace', '@slate/web', '--silent'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (web.status !== 0) process.exit(web.status ?? 1);
}
console.error(
  `slate build: dist/ in ${Math.round(compiled - started)} ms` +
    (buildWeb
      ? `, web UI in ${Math.round(performance.now() - compiled)} ms`
      : process.argv.includes('--no-web')
        ? ''
        : ', web UI up to date'),
);
