import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Container, envOf, manifestsOf, type PodSpec, podOf } from './testing/manifest-access.ts';
import { type ChartName, helm, helmFile, type Manifest, renderChart } from './testing/render-chart.ts';

/**
 * The manifests against the image and the sources: every command, path and environment variable the
 * charts give a container must exist in the image's layout or be read by the process it configures.
 */
const root = new URL('../../', import.meta.url).pathname;

/** Every values set the other chart tests render, per chart. */
const RENDERS: Record<ChartName, string[][]> = {
  metadataPlane: [
    [
      'fixtures/guide-filled/values.yaml',
      'fixtures/guide-filled/seed.yaml',
      'examples/one-cluster/metadata-plane.yaml',
    ],
    ['fixtures/all-switches/metadata-plane.yaml'],
  ],
  dataPlane: [
    ['examples/one-cluster/data-plane.yaml'],
    ['examples/two-clusters/data-plane.yaml'],
    ['examples/small/data-plane.yaml'],
    ['fixtures/all-switches/data-plane.yaml'],
  ],
};
const APP: Record<ChartName, string> = { metadataPlane: 'metadata-plane', dataPlane: 'data-plane' };

/**
 * Variables the brief's conventions give the processes, being implemented by other work in parallel;
 * the charts set them already. Remove each from here once the sources read it (the scan below then
 * finds it).
 */
const PENDING_ENV: Record<ChartName, readonly string[]> = {
  metadataPlane: [],
  dataPlane: [],
};
/** SLATE_ROLE values of the brief's convention that the data plane may not accept yet. */
const PENDING_ROLES: readonly string[] = [];

/** Non-test TypeScript under a folder. */
function sources(folder: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !/\.(test|int\.test|suite|bench)\.ts$/.test(name)) out.push(path);
  }
  return out;
}

/** Every environment-variable-like name the process's sources mention (its app and @slate/stores). */
function namesReadBy(app: string): Set<string> {
  const names = new Set<string>();
  for (const file of [
    ...sources(join(root, 'apps', app, 'src')),
    ...sources(join(root, 'packages/stores/src')),
  ]) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\b(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|PORT|HOST)\b/g)) {
      names.add(m[0]);
    }
  }
  return names;
}

interface Rendered {
  chart: ChartName;
  pod: PodSpec;
  container: Container;
  docs: Manifest[];
}

describe.skipIf(!helm)('the charts against the image and the sources', () => {
  const rendered: Rendered[] = [];
  beforeAll(async () => {
    for (const chart of Object.keys(RENDERS) as ChartName[]) {
      for (const files of RENDERS[chart]) {
        const docs = await renderChart(chart, { files: files.map(helmFile) });
        for (const deployment of manifestsOf(docs, 'Deployment')) {
          const pod = podOf(deployment);
          for (const container of pod.containers) rendered.push({ chart, pod, container, docs });
        }
      }
    }
  });

  it("runs each plane's compiled entry point from the image's /app, as the build convention lays it out", () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(finalStage).toMatch(/^WORKDIR \/app$/m);
    for (const { chart, container } of rendered) {
      expect(container.command).toEqual(['node', `dist/${APP[chart]}/main.js`]);
      expect(container.workingDir).toBe('/app');
      expect(container.args).toBeUndefined();
      // dist/<app>/main.js is the build of apps/<app>/src/main.ts.
      expect(existsSync(join(root, 'apps', APP[chart], 'src/main.ts'))).toBe(true);
    }
  });

  it('finds those entry points in the compiled build (npm run build; the test setup runs it)', () => {
    for (const { container } of rendered) expect(existsSync(join(root, container.command![1]!))).toBe(true);
  });

  it('mounts every file and folder an env var names, or finds it in the image', () => {
    const vite = readFileSync(join(root, 'apps/web/vite.config.ts'), 'utf8');
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    for (const { container, pod, docs } of rendered) {
      for (const [name, value] of Object.entries(envOf(container))) {
        if (!value?.startsWith('/')) continue;
        if (value.startsWith('/app/')) {
          // The image is the repository at /app; the web UI is built into apps/web/dist.
          expect(value, name).toBe('/app/apps/web/dist');
          expect(vite).toMatch(/outDir: 'dist'/);
          expect(dockerfile).toMatch(/npm run build|apps\/web\/dist/);
          continue;
        }
        const mount = container.volumeMounts?.find(
          (m) => value === m.mountPath || value.startsWith(`${m.mountPath}/`),
        );
        expect(mount, `${name}=${value} is not under a volume mount of ${container.name}`).toBeDefined();
        const volume = pod.volumes?.find((v) => v.name === mount!.name);
        const file = value.slice(mount!.mountPath.length + 1);
        if (volume?.secret) {
          expect(
            volume.secret.items?.map((i) => i.path),
            name,
          ).toContain(file);
        } else if (volume?.configMap) {
          const configMap = docs.find(
            (d) => d.kind === 'ConfigMap' && d.metadata.name === volume.configMap!.name,
          );
          expect(Object.keys((configMap?.data as object) ?? {}), name).toContain(basename(value));
          expect(dirname(value)).toBe(mount!.mountPath);
        } else {
          expect(volume?.emptyDir, `${name}: a writable folder`).toBeDefined();
        }
      }
    }
  });

  it('sets only environment variables that the process reads (or the brief’s pending conventions)', () => {
    const read = { metadataPlane: namesReadBy('metadata-plane'), dataPlane: namesReadBy('data-plane') };
    const extra = new Set(['NODE_OPTIONS']); // from the fixtures' extraEnv, read by Node itself
    const unknown = new Set<string>();
    for (const { chart, container } of rendered) {
      for (const { name } of container.env ?? []) {
        if (!read[chart].has(name) && !PENDING_ENV[chart].includes(name) && !extra.has(name)) {
          unknown.add(`${chart}: ${name}`);
        }
      }
    }
    expect([...unknown]).toEqual([]);
  });

  it('sets SLATE_ROLE to roles the data plane knows (or the brief’s pending ones)', () => {
    const text = sources(join(root, 'apps/data-plane/src'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const roles = rendered
      .filter((r) => r.chart === 'dataPlane')
      .flatMap((r) => envOf(r.container).SLATE_ROLE!.split(','));
    expect(new Set(roles)).toEqual(new Set(['all', 'query', 'persistence', 'streaming', 'jobs']));
    for (const role of roles) {
      if (!PENDING_ROLES.includes(role)) expect(text, `role ${role}`).toContain(`'${role}'`);
    }
  });

  it("names the bus topic, consumer group and Redis stream as persistence's sources do", () => {
    const read = (path: string) => readFileSync(join(root, path), 'utf8');
    expect(read('apps/data-plane/src/persistence/result-message.ts')).toContain(
      "RESULT_BUS_TOPIC = 'result-bus'",
    );
    expect(read('apps/data-plane/src/persistence/persistence-worker.ts')).toContain(
      "group: options.group ?? 'background-persistence'",
    );
    const redisBus = read('packages/stores/src/bus/redis/redis-bus.ts');
    expect(redisBus).toContain("const prefix = options.keyPrefix ?? 'slate';");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
    expect(redisBus).toContain('const streamKey = (topic: string) => `${prefix}:bus:${topic}`;');
    const kafkaBus = read('packages/stores/src/bus/kafka/kafka-bus.ts');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
    expect(kafkaBus).toContain("const name = (topic: string) => `${options.topicPrefix ?? ''}${topic}`;");
    expect(kafkaBus).toContain('kafka.consumer({ groupId: group,');
  });

  it('shares one definition of every common value between the two charts’ schemas', () => {
    const schema = (chart: string) =>
      JSON.parse(readFileSync(helmFile(`${chart}/values.schema.json`), 'utf8')) as {
        definitions: Record<string, unknown>;
      };
    const mp = schema('slate-metadata-plane');
    const dp = schema('slate-data-plane');
    expect(Object.keys(mp.definitions).sort()).toEqual(Object.keys(dp.definitions).sort());
    expect(mp.definitions).toEqual(dp.definitions);
  });
});
