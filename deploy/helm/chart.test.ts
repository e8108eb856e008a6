import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseSeed } from '@slate/metadata-plane';
import { helmBinary, unlessCi } from '@slate/testing';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';

const helm = helmBinary();
unlessCi(helm ? undefined : 'helm is not fetched (run `bash deploy/helm/fetch-helm.sh`)');
const chart = new URL('./slate', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'slate-chart-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The installation guide's values and seed layout, with ids that follow its own rules. */
const guideValues = {
  chalk: {
    metadata: {
      api_host: 'https://slate.example.com',
      frontend_host: 'https://slate.example.com',
      seed: {
        teams: [{ id: 'acme', name: 'Acme Payments' }],
        projects: [{ id: 'fraud', name: 'Fraud', team_id: 'acme' }],
        environments: [{ id: 'prod', name: 'Production', project_id: 'fraud', team_id: 'acme' }],
        team_invites: [{ id: 'seed_invite_1', team: 'acme', email: 'owner@example.com', role: 'owner' }],
      },
    },
  },
  slate: {
    objectStore: { bucketPrefix: 'acme-slate' },
    dataPlane: { publicUrl: 'https://query.example.com', redisSecret: 'slate-redis' },
  },
};

async function render(values: unknown): Promise<Record<string, unknown>[]> {
  const file = join(work, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(values));
  const { stdout } = await promisify(execFile)(helm!, [
    'template',
    'rel',
    chart,
    '--namespace',
    'chalk-metadata',
    '-f',
    file,
  ]);
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJS())
    .filter(Boolean);
}

const models: Record<string, new (data: never) => { validate(): void }> = {
  Deployment,
  Service,
  ConfigMap,
  Secret,
  ServiceAccount,
};
interface Container {
  env: { name: string; value?: string }[];
  envFrom?: unknown[];
  args: string[];
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: { template: { spec: { containers: Container[] } } };
}
const find = (docs: Record<string, unknown>[], kind: string, name: string) =>
  docs.find((d) => d.kind === kind && (d.metadata as { name: string }).name === name) as unknown as Manifest;
const containerOf = (deployment: Manifest) => deployment.spec!.template.spec.containers[0]!;
const envOf = (deployment: Manifest) =>
  Object.fromEntries(containerOf(deployment).env.map((e) => [e.name, e.value]));

describe.skipIf(!helm)('the Helm chart', () => {
  it('passes helm lint --strict with the guide-style values', async () => {
    const file = join(work, 'lint.yaml');
    writeFileSync(file, stringify(guideValues));
    const { stdout } = await promisify(execFile)(helm!, ['lint', '--strict', chart, '-f', file]);
    expect(stdout).toContain('0 chart(s) failed');
  });

  it('renders only manifests that validate against the Kubernetes schemas', async () => {
    const docs = await render(guideValues);
    expect(docs.map((d) => d.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Deployment',
      'Deployment',
      'Secret',
      'Service',
      'Service',
      'ServiceAccount',
      'ServiceAccount',
    ]);
    for (const doc of docs) {
      const Model = models[doc.kind as string]!;
      expect(
        () => new Model(doc as never).validate(),
        `${doc.kind} ${(doc.metadata as { name: string }).name}`,
      ).not.toThrow();
    }
  });

  it('wires the metadata plane as the guide configures it', async () => {
    const docs = await render(guideValues);
    const deployment = find(docs, 'Deployment', 'rel-slate-metadata-plane');
    expect(containerOf(deployment).args).toEqual(['apps/metadata-plane/src/main.ts']);
    expect(containerOf(deployment).envFrom).toContainEqual({ secretRef: { name: 'metadata-plane-secrets' } });
    expect(envOf(deployment)).toMatchObject({
      SLATE_API_SERVER: 'https://slate.example.com',
      SLATE_MODE: 'production',
      SLATE_S3_BUCKET_PREFIX: 'acme-slate',
    });
    const seedYaml = find(docs, 'ConfigMap', 'rel-slate-seed').data!['seed.yaml']!;
    const seed = parseSeed(parse(seedYaml));
    expect(seed.teams.map((t) => t.id)).toEqual(['acme']);
    expect(seed.environments.map((e) => e.id)).toEqual(['prod']);
  });

  it('passes the scheduler values to the metadata plane as the env vars its main reads', async () => {
    const defaults = envOf(find(await render(guideValues), 'Deployment', 'rel-slate-metadata-plane'));
    expect(defaults).toMatchObject({
      SLATE_SCHEDULER_ENABLED: 'true',
      SLATE_SCHEDULER_INTERVAL_MS: '1000',
      SLATE_SCHEDULER_MAX_MISSED_RUNS: '1',
    });
    const tuned = structuredClone(guideValues) as typeof guideValues & { slate: { metadata?: object } };
    tuned.slate.metadata = { scheduler: { enabled: false, maxMissedRuns: 5 } };
    const env = envOf(find(await render(tuned), 'Deployment', 'rel-slate-metadata-plane'));
    expect(env).toMatchObject({
      SLATE_SCHEDULER_ENABLED: 'false',
      SLATE_SCHEDULER_INTERVAL_MS: '1000',
      SLATE_SCHEDULER_MAX_MISSED_RUNS: '5',
    });
    const wrong = structuredClone(guideValues) as typeof guideValues & { slate: { metadata?: object } };
    wrong.slate.metadata = { scheduler: { maxMissedRuns: 0 } };
    await expect(render(wrong)).rejects.toThrow(/maxMissedRuns/);
  });

  it('points the data plane at the in-cluster API while trusting the public issuer', async () => {
    const docs = await render(guideValues);
    const env = envOf(find(docs, 'Deployment', 'rel-slate-data-plane'));
    expect(env).toMatchObject({
      SLATE_METADATA_PLANE_URL: 'http://rel-slate-metadata-plane:4000',
      SLATE_METADATA_PLANE_ISSUER: 'https://slate.example.com',
      SLATE_PUBLIC_URL: 'https://query.example.com',
      SLATE_ROLE: 'query',
    });
  });

  it('runs background persistence as its own deployment on the shared Redis bus', async () => {
    const docs = await render(guideValues);
    const worker = find(docs, 'Deployment', 'rel-slate-persistence');
    expect(envOf(worker)).toMatchObject({ SLATE_ROLE: 'persistence' });
    expect(containerOf(worker).envFrom).toEqual([{ secretRef: { name: 'slate-redis' } }]);
    const inProcess = structuredClone(guideValues) as typeof guideValues & {
      slate: { persistence?: object };
    };
    inProcess.slate.persistence = { enabled: false };
    const single = await render(inProcess);
    expect(single.filter((d) => d.kind === 'Deployment')).toHaveLength(2);
    expect(envOf(find(single, 'Deployment', 'rel-slate-data-plane'))).toMatchObject({ SLATE_ROLE: 'all' });
  });

  it('refuses the guide’s placeholder ids, which break its own rule of fewer than 10 characters', async () => {
    const values = structuredClone(guideValues);
    values.chalk.metadata.seed.teams = [{ id: 'teamshortid', name: 'Your Company Name' }];
    await expect(render(values)).rejects.toThrow(/teamshortid|pattern|does not match/);
  });

  it('refuses values of the wrong type and a missing API host, with a clear message', async () => {
    const wrongType = structuredClone(guideValues) as Record<string, unknown> & typeof guideValues;
    (wrongType.slate as Record<string, unknown>).metadata = { replicas: 'two' };
    await expect(render(wrongType)).rejects.toThrow(/replicas/);
    const noHost = structuredClone(guideValues);
    noHost.chalk.metadata.api_host = '';
    await expect(render(noHost)).rejects.toThrow(/set chalk.metadata.api_host/);
  });
});
