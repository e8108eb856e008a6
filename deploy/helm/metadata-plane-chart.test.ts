import { beforeAll, describe, expect, it } from 'vitest';
import {
  containerOf,
  envEntry,
  envOf,
  findManifest,
  manifestsOf,
  podOf,
  specOf,
} from './testing/manifest-access.ts';
import {
  helm,
  helmFile,
  lintChart,
  type Manifest,
  problemPaths,
  renderChart,
  renderChartError,
} from './testing/render-chart.ts';
import { validateManifest } from './testing/validate-manifest.ts';

const ALL = [helmFile('fixtures/all-switches/metadata-plane.yaml')];
const MINIMAL = {
  chalk: { metadata: { api_host: 'https://slate.acme.example' } },
  objectStore: { bucketPrefix: 'acme' },
};

describe.skipIf(!helm)('slate-metadata-plane', () => {
  let all: Manifest[];
  beforeAll(async () => {
    all = await renderChart('metadataPlane', { files: ALL });
  });

  it('passes helm lint --strict, minimal and with every switch on', async () => {
    expect(await lintChart('metadataPlane', { values: MINIMAL })).toContain('0 chart(s) failed');
    expect(await lintChart('metadataPlane', { files: ALL })).toContain('0 chart(s) failed');
  });

  it('renders every object with every switch on, each valid against its schema', () => {
    expect(all.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/slate-mp-seed',
        'Deployment/slate-mp',
        'Gateway/slate-mp',
        'HTTPRoute/slate-mp',
        'HTTPRoute/slate-mp-frontend',
        'HorizontalPodAutoscaler/slate-mp',
        'Ingress/slate-mp',
        'Ingress/slate-mp-frontend',
        'PodDisruptionBudget/slate-mp',
        'Service/slate-mp',
        'Service/slate-mp-metrics',
        'ServiceAccount/slate-mp',
        'ServiceMonitor/slate-mp-metrics',
      ].sort(),
    );
    for (const doc of all) validateManifest(doc);
  });

  it('passes every secret by reference, under the keys the values name', () => {
    const container = containerOf(findManifest(all, 'Deployment', 'slate-mp'));
    const ref = (name: string) => envEntry(container, name).valueFrom?.secretKeyRef;
    expect(ref('DATABASE_URL')).toEqual({ name: 'slate-db', key: 'DATABASE_URL' });
    expect(ref('SLATE_REGISTRATION_TOKEN')).toEqual({
      name: 'slate-registration',
      key: 'registration-token',
    });
    expect(ref('SLATE_KEY_ENCRYPTION_KEY')).toEqual({ name: 'slate-kek', key: 'kek' });
    expect(ref('SLATE_OIDC_CLIENT_ID')).toEqual({ name: 'slate-oidc', key: 'SLATE_OIDC_CLIENT_ID' });
    expect(ref('SLATE_OIDC_CLIENT_SECRET')).toEqual({ name: 'slate-oidc', key: 'SLATE_OIDC_CLIENT_SECRET' });
    expect(container.envFrom).toEqual([{ secretRef: { name: 'slate-s3' } }]);
    // Named Secrets are not created; no POSTGRES_* or Google keys when the values say otherwise.
    expect(manifestsOf(all, 'Secret')).toEqual([]);
    const names = (container.env ?? []).map((e) => e.name);
    expect(names.filter((n) => n.startsWith('POSTGRES_') || n.startsWith('GOOGLE_'))).toEqual([]);
    // Nothing secret is written as a literal value.
    for (const e of container.env ?? []) {
      if (/TOKEN|SECRET|PASSWORD|KEY$|DATABASE_URL/.test(e.name)) expect(e.value, e.name).toBeUndefined();
    }
  });

  it('passes the queues, buckets, scheduler and sign-in values as the env vars main.ts reads', () => {
    const env = envOf(containerOf(findManifest(all, 'Deployment', 'slate-mp')));
    expect(env).toMatchObject({
      SLATE_API_SERVER: 'https://slate.acme.example',
      SLATE_QUEUES: 'sqs',
      SLATE_SQS_REGION: 'eu-west-1',
      SLATE_SQS_ENDPOINT: 'http://elasticmq.queues:9324',
      SLATE_SQS_PREFIX: 'acme-',
      SLATE_S3_BUCKET_PREFIX: 'acme-slate',
      SLATE_S3_ENDPOINT: 'http://minio.storage:9000',
      SLATE_S3_FORCE_PATH_STYLE: 'true',
      SLATE_SCHEDULER_ENABLED: 'false',
      SLATE_SCHEDULER_INTERVAL_MS: '2000',
      SLATE_SCHEDULER_MAX_MISSED_RUNS: '5',
      SLATE_HEARTBEAT_TIMEOUT_SECONDS: '90',
      SLATE_OIDC_ISSUER: 'https://login.acme.example',
      SLATE_OIDC_NAME: 'Acme SSO',
      SLATE_OIDC_ID: 'acme',
      SLATE_METRICS_PORT: '9500',
      LOG_LEVEL: 'debug',
      NODE_OPTIONS: '--max-old-space-size=768',
    });
  });

  it('defaults to the guide: its database Secret, Google sign-in if present, pg-boss queues', async () => {
    const docs = await renderChart('metadataPlane', { values: MINIMAL });
    const container = containerOf(findManifest(docs, 'Deployment', 'rel'));
    const refs = Object.fromEntries(
      (container.env ?? []).filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom!.secretKeyRef]),
    );
    for (const key of ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_HOST', 'POSTGRES_DB']) {
      expect(refs[key]).toEqual({ name: 'metadata-plane-secrets', key });
    }
    expect(refs.POSTGRES_PORT).toEqual({
      name: 'metadata-plane-secrets',
      key: 'POSTGRES_PORT',
      optional: true,
    });
    expect(refs.GOOGLE_CLIENT_ID).toEqual({
      name: 'chalk-frontend-secrets',
      key: 'GOOGLE_CLIENT_ID',
      optional: true,
    });
    expect(envOf(container)).toMatchObject({ SLATE_QUEUES: 'postgres', SLATE_SCHEDULER_ENABLED: 'true' });
    expect(envOf(container).SLATE_SQS_REGION).toBeUndefined();
  });

  it('creates the registration token and the key-encryption key once, and keeps them', async () => {
    const docs = await renderChart('metadataPlane', { values: MINIMAL });
    const container = containerOf(findManifest(docs, 'Deployment', 'rel'));
    for (const [secret, key, env] of [
      ['rel-registration', 'token', 'SLATE_REGISTRATION_TOKEN'],
      ['rel-key-encryption', 'key', 'SLATE_KEY_ENCRYPTION_KEY'],
    ] as const) {
      const doc = findManifest(docs, 'Secret', secret);
      expect(doc.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
      expect(envEntry(container, env).valueFrom?.secretKeyRef).toEqual({ name: secret, key });
    }
    const token = Buffer.from(
      (findManifest(docs, 'Secret', 'rel-registration').data as Record<string, string>).token!,
      'base64',
    );
    expect(token.toString()).toMatch(/^[A-Za-z0-9]{48}$/);
    const kek = (findManifest(docs, 'Secret', 'rel-key-encryption').data as Record<string, string>).key!;
    // Secret data is base64 of the env var's value, itself base64 of 32 random bytes.
    const value = Buffer.from(kek, 'base64').toString();
    expect(value).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(value, 'base64')).toHaveLength(32);
  });

  it('scales on CPU and keeps replicas through disruptions', () => {
    const deployment = findManifest(all, 'Deployment', 'slate-mp');
    // The HPA owns the count: a helm upgrade must not reset it.
    expect(specOf(deployment).replicas).toBeUndefined();
    const hpa = specOf(findManifest(all, 'HorizontalPodAutoscaler', 'slate-mp'));
    expect(hpa).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'slate-mp' },
      minReplicas: 3,
      maxReplicas: 9,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } },
        },
      ],
    });
    const pdb = specOf(findManifest(all, 'PodDisruptionBudget', 'slate-mp'));
    expect(pdb.minAvailable).toBe(2);
    const podLabels = (specOf(deployment).template as { metadata: { labels: Record<string, string> } })
      .metadata.labels;
    expect(podLabels).toMatchObject((pdb.selector as { matchLabels: object }).matchLabels);
  });

  it('serves /metrics to Prometheus on the internal port only', async () => {
    const deployment = findManifest(all, 'Deployment', 'slate-mp');
    const container = containerOf(deployment);
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: 9500, protocol: 'TCP' });
    const annotations = (specOf(deployment).template as { metadata: { annotations: Record<string, string> } })
      .metadata.annotations;
    expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9500' });
    // The public Service does not expose it; the headless metrics Service does, for the ServiceMonitor.
    expect(
      (specOf(findManifest(all, 'Service', 'slate-mp')).ports as { name: string }[]).map((p) => p.name),
    ).toEqual(['http', 'grpc']);
    const metrics = findManifest(all, 'Service', 'slate-mp-metrics');
    expect(specOf(metrics)).toMatchObject({
      clusterIP: 'None',
      ports: [{ name: 'metrics', port: 9500, targetPort: 'metrics' }],
    });
    const podLabels = (specOf(deployment).template as { metadata: { labels: Record<string, string> } })
      .metadata.labels;
    expect(podLabels).toMatchObject(specOf(metrics).selector as object);
    const monitor = specOf(findManifest(all, 'ServiceMonitor', 'slate-mp-metrics'));
    expect(metrics.metadata.labels).toMatchObject((monitor.selector as { matchLabels: object }).matchLabels);
    expect(monitor.endpoints).toEqual([
      { port: 'metrics', path: '/metrics', interval: '15s', scrapeTimeout: '5s' },
    ]);
    expect(findManifest(all, 'ServiceMonitor', 'slate-mp-metrics').metadata.labels).toMatchObject({
      release: 'prom',
    });

    const off = await renderChart('metadataPlane', { values: { ...MINIMAL, metrics: { enabled: false } } });
    const offContainer = containerOf(findManifest(off, 'Deployment', 'rel'));
    expect(envOf(offContainer).SLATE_METRICS_PORT).toBe('0');
    expect(offContainer.ports?.map((p) => p.name)).toEqual(['http', 'grpc']);
  });

  it('serves the gRPC API host (token exchange, forwarded queries) as port grpc of the Service', async () => {
    const docs = await renderChart('metadataPlane', { values: MINIMAL });
    const container = containerOf(findManifest(docs, 'Deployment', 'rel'));
    expect(envOf(container)).toMatchObject({
      SLATE_METADATA_GRPC_PORT: '4003',
      SLATE_DATA_PLANE_GRPC_PORT: '4002',
    });
    expect(container.ports).toContainEqual({ name: 'grpc', containerPort: 4003, protocol: 'TCP' });
    expect(specOf(findManifest(docs, 'Service', 'rel')).ports).toContainEqual({
      name: 'grpc',
      port: 4003,
      targetPort: 'grpc',
      protocol: 'TCP',
      appProtocol: 'kubernetes.io/h2c',
    });
    const moved = await renderChart('metadataPlane', {
      values: { ...MINIMAL, grpc: { port: 5003, dataPlanePort: 5002 } },
    });
    expect(envOf(containerOf(findManifest(moved, 'Deployment', 'rel')))).toMatchObject({
      SLATE_METADATA_GRPC_PORT: '5003',
      SLATE_DATA_PLANE_GRPC_PORT: '5002',
    });
    const off = await renderChart('metadataPlane', { values: { ...MINIMAL, grpc: { enabled: false } } });
    const offContainer = containerOf(findManifest(off, 'Deployment', 'rel'));
    expect(envOf(offContainer)).toMatchObject({ SLATE_METADATA_GRPC_PORT: 'off' });
    expect(offContainer.ports?.map((p) => p.name)).not.toContain('grpc');
    expect(
      (specOf(findManifest(off, 'Service', 'rel')).ports as { name: string }[]).map((p) => p.name),
    ).toEqual(['http']);
    const message = await renderChartError('metadataPlane', { values: { ...MINIMAL, grpc: { port: 4000 } } });
    expect(problemPaths(message)).toEqual(['grpc.port']);
  });

  it('routes the API host by Ingress and by Gateway API, with cert-manager issuing the certificates', () => {
    const api = findManifest(all, 'Ingress', 'slate-mp');
    expect(api.metadata.annotations).toMatchObject({ 'cert-manager.io/cluster-issuer': 'letsencrypt' });
    expect(specOf(api)).toMatchObject({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['slate.acme.example'], secretName: 'slate-api-tls' }],
      rules: [
        {
          host: 'slate.acme.example',
          http: {
            paths: [{ path: '/', backend: { service: { name: 'slate-mp', port: { name: 'http' } } } }],
          },
        },
      ],
    });
    const frontend = findManifest(all, 'Ingress', 'slate-mp-frontend');
    expect(frontend.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/permanent-redirect': 'https://slate.acme.example',
    });
    const gateway = findManifest(all, 'Gateway', 'slate-mp');
    expect(gateway.metadata.annotations).toMatchObject({ 'cert-manager.io/cluster-issuer': 'letsencrypt' });
    expect(
      (specOf(gateway).listeners as { hostname: string; tls: { certificateRefs: { name: string }[] } }[]).map(
        (l) => [l.hostname, l.tls.certificateRefs[0]!.name],
      ),
    ).toEqual([
      ['slate.acme.example', 'slate-api-tls'],
      ['app.acme.example', 'slate-app-tls'],
    ]);
    const route = specOf(findManifest(all, 'HTTPRoute', 'slate-mp'));
    expect(route.parentRefs).toEqual([
      { name: 'eg', namespace: 'envoy-gateway-system', sectionName: 'https' },
      { name: 'slate-mp' },
    ]);
    expect(route.rules).toEqual([
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ name: 'slate-mp', port: 8080 }],
        timeouts: { request: '60s' },
      },
    ]);
  });

  it('runs the compiled build, read-only, as a non-root user', () => {
    const pod = podOf(findManifest(all, 'Deployment', 'slate-mp'));
    const container = pod.containers[0]!;
    expect(container.command).toEqual(['node', 'dist/metadata-plane/main.js']);
    expect(container.workingDir).toBe('/app');
    expect(container.image).toBe('registry.acme.example:5000/slate:0.1.0-rc.1');
    expect((container as unknown as { securityContext: object }).securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect((pod as unknown as { securityContext: object }).securityContext).toMatchObject({
      runAsNonRoot: true,
    });
  });

  it('refuses bad values in one message listing every problem', async () => {
    const message = await renderChartError('metadataPlane', {
      values: {
        chalk: {
          metadata: {
            api_host: '',
            frontend_host: 'https://app.acme.example/ui',
            frontend: { image: 'Not An Image' },
            seed: {
              teams: [
                { id: 'acme', name: 'Acme' },
                { id: 'acme', name: '' },
              ],
              projects: [{ id: 'p1', name: 'P', team_id: 'ghost' }],
              environments: [{ id: 'dev', name: 'Dev', project_id: 'p1', team_id: 'acme' }],
              team_invites: [{ id: 'i1', team: 'acme', email: 'nobody', role: 'boss' }],
            },
          },
        },
        objectStore: { bucketPrefix: 'Acme_Slate' },
        oidc: { issuer: 'https://login.acme.example' },
        gateway: { enabled: true },
        metrics: { enabled: false, serviceMonitor: { enabled: true } },
        autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 },
      },
    });
    expect(problemPaths(message)).toEqual([
      'chalk.metadata.api_host',
      'chalk.metadata.frontend_host',
      'chalk.metadata.frontend.image',
      'chalk.metadata.seed.teams[1].id',
      'chalk.metadata.seed.teams[1].name',
      'chalk.metadata.seed.projects[0].team_id',
      'chalk.metadata.seed.environments[0].team_id',
      'chalk.metadata.seed.team_invites[0].email',
      'chalk.metadata.seed.team_invites[0].role',
      'objectStore.bucketPrefix',
      'oidc.existingSecret',
      'autoscaling',
      'gateway.parentRefs',
      'metrics.serviceMonitor.enabled',
    ]);
    expect(message).toContain('14 value(s) to fix');
    expect(message).toContain('project "p1" belongs to team "ghost", not "acme"');
  });

  it('refuses values of the wrong type or shape in one message from the schema', async () => {
    const message = await renderChartError('metadataPlane', {
      values: {
        ...MINIMAL,
        chalk: { metadata: { api_host: 'https://slate.acme.example', 'api-host': 'typo' } },
        replicas: 'two',
        queues: { type: 'kafka' },
        scheduler: { maxMissedRuns: 0 },
        metrics: { port: 80 },
      },
    });
    expect(message).toContain("values don't meet the specifications of the schema");
    for (const fragment of [
      "'api-host' not allowed",
      '/replicas',
      '/queues/type',
      '/scheduler/maxMissedRuns',
      '/metrics/port',
    ]) {
      expect(message).toContain(fragment);
    }
  });
});
