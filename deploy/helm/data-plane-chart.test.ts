import { beforeAll, describe, expect, it } from 'vitest';
import { tracingConfigFromEnv } from '../../apps/data-plane/src/observability/tracing/tracing-config.ts';
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

const ONE_CLUSTER = [helmFile('examples/one-cluster/data-plane.yaml')];
const TWO_CLUSTERS = [helmFile('examples/two-clusters/data-plane.yaml')];
const SMALL = [helmFile('examples/small/data-plane.yaml')];
const ALL = [helmFile('fixtures/all-switches/data-plane.yaml')];
const ROLES = ['query', 'persistence', 'streaming', 'jobs'] as const;

describe.skipIf(!helm)('slate-data-plane', () => {
  let one: Manifest[];
  let two: Manifest[];
  let all: Manifest[];
  beforeAll(async () => {
    [one, two, all] = await Promise.all([
      renderChart('dataPlane', {
        files: ONE_CLUSTER,
        release: 'slate-data-plane',
        namespace: 'slate-data-plane',
      }),
      renderChart('dataPlane', { files: TWO_CLUSTERS, release: 'slate-data-plane' }),
      renderChart('dataPlane', { files: ALL }),
    ]);
  });

  it('passes helm lint --strict with every example and with every switch on', async () => {
    for (const files of [ONE_CLUSTER, TWO_CLUSTERS, SMALL, ALL]) {
      expect(await lintChart('dataPlane', { files }), files[0]).toContain('0 chart(s) failed');
    }
  });

  it('renders only objects valid against their schemas, Kubernetes and CRDs alike', async () => {
    const small = await renderChart('dataPlane', { files: SMALL });
    for (const doc of [...one, ...two, ...all, ...small]) validateManifest(doc);
    expect(all.map((d) => `${d.kind}/${d.metadata.namespace ?? '-'}/${d.metadata.name}`).sort()).toEqual(
      [
        'Deployment/-/slate-dp-query',
        'Deployment/-/slate-dp-streaming',
        'Deployment/-/slate-dp-jobs',
        'Deployment/background-persistence/slate-dp-persistence',
        'HorizontalPodAutoscaler/-/slate-dp-query',
        'HorizontalPodAutoscaler/-/slate-dp-streaming',
        'HorizontalPodAutoscaler/-/slate-dp-jobs',
        'PodDisruptionBudget/-/slate-dp-query',
        'PodDisruptionBudget/-/slate-dp-streaming',
        'PodDisruptionBudget/-/slate-dp-jobs',
        'PodDisruptionBudget/background-persistence/slate-dp-persistence',
        'ScaledObject/background-persistence/slate-dp-persistence',
        'TriggerAuthentication/background-persistence/slate-dp-persistence',
        'Namespace/-/background-persistence',
        'ServiceAccount/-/slate-dp',
        'ServiceAccount/background-persistence/persistence',
        'Service/-/slate-dp',
        'Service/-/slate-dp-metrics',
        'Service/background-persistence/slate-dp-metrics',
        'ServiceMonitor/-/slate-dp-metrics',
        'ServiceMonitor/background-persistence/slate-dp-metrics',
        'Ingress/-/slate-dp',
        'HTTPRoute/-/slate-dp',
        'Gateway/-/slate-dp',
      ].sort(),
    );
  });

  it('runs each role as its own Deployment, every replica one instance of one named group', () => {
    for (const role of ROLES) {
      const deployment = findManifest(one, 'Deployment', `slate-data-plane-${role}`);
      const pod = podOf(deployment);
      const container = containerOf(deployment);
      expect(container.command).toEqual(['node', 'dist/data-plane/main.js']);
      expect(envOf(container)).toMatchObject({
        SLATE_ROLE: role,
        SLATE_DATA_PLANE_NAME: 'slate-data-plane',
        SLATE_METADATA_PLANE_URL: 'http://chalk-metadata-plane.chalk-metadata.svc:4000',
        SLATE_METADATA_PLANE_ISSUER: 'https://slate.acme.example',
        // Shown with each instance's health in the metadata plane.
        SLATE_VERSION: '0.1.0',
      });
      // Each pod registers as itself: its name, from the downward API.
      expect(envEntry(container, 'SLATE_INSTANCE_ID').valueFrom).toEqual({
        fieldRef: { fieldPath: 'metadata.name' },
      });
      // Every replica mounts the one group key, from the Secret the values name.
      const keyFile = envOf(container).SLATE_DATA_PLANE_KEY_FILE!;
      const mount = container.volumeMounts!.find((m) => keyFile.startsWith(`${m.mountPath}/`))!;
      const volume = pod.volumes!.find((v) => v.name === mount.name)!;
      expect(volume.secret?.secretName).toBe('slate-data-plane-key');
      expect(volume.secret?.items).toEqual([
        { key: 'key.jwk', path: keyFile.slice(mount.mountPath.length + 1) },
      ]);
      expect(envEntry(container, 'SLATE_REGISTRATION_TOKEN').valueFrom).toEqual({
        secretKeyRef: { name: 'slate-registration', key: 'token' },
      });
    }
    // Only the query servers serve queries; only they are behind the Service.
    const service = specOf(findManifest(one, 'Service', 'slate-data-plane'));
    const query = findManifest(one, 'Deployment', 'slate-data-plane-query');
    const labels = (specOf(query).template as { metadata: { labels: Record<string, string> } }).metadata
      .labels;
    expect(labels).toMatchObject(service.selector as object);
    expect(service.selector).toMatchObject({ 'app.kubernetes.io/component': 'query' });
    expect(containerOf(query).readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'http' } });
  });

  it('gives persistence its own service account and namespace, as the guide does', () => {
    const persistence = findManifest(one, 'Deployment', 'slate-data-plane-persistence');
    expect(persistence.metadata.namespace).toBe('background-persistence');
    expect(podOf(persistence).serviceAccountName).toBe('background-persistence');
    const account = manifestsOf(one, 'ServiceAccount').find(
      (a) => a.metadata.name === 'background-persistence',
    )!;
    expect(account.metadata.namespace).toBe('background-persistence');
    expect(account.metadata.annotations).toEqual({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/slate-background-persistence',
    });
    expect(manifestsOf(one, 'Namespace')).toEqual([]);
    expect(findManifest(all, 'Namespace', 'background-persistence').metadata.annotations).toEqual({
      'helm.sh/resource-policy': 'keep',
    });
    for (const role of ['query', 'streaming', 'jobs']) {
      expect(podOf(findManifest(one, 'Deployment', `slate-data-plane-${role}`)).serviceAccountName).toBe(
        'slate-data-plane',
      );
    }
    // Persistence runs no resolvers: none of their settings reach it.
    const env = envOf(containerOf(persistence));
    for (const name of ['SLATE_WORKERS', 'SLATE_DATASET_URL_KEY', 'SLATE_DATA_SOURCES', 'PORT'])
      expect(env).not.toHaveProperty(name);
  });

  it('scales query servers on CPU, and persistence with KEDA on the Redis stream group lag', () => {
    const hpa = findManifest(one, 'HorizontalPodAutoscaler', 'slate-data-plane-query');
    expect(specOf(hpa)).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: 'slate-data-plane-query' },
      minReplicas: 2,
      metrics: [{ resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    });
    // Autoscaled Deployments leave the replica count to their autoscaler.
    expect(specOf(findManifest(one, 'Deployment', 'slate-data-plane-query')).replicas).toBeUndefined();
    expect(specOf(findManifest(one, 'Deployment', 'slate-data-plane-persistence')).replicas).toBeUndefined();
    expect(specOf(findManifest(one, 'Deployment', 'slate-data-plane-jobs')).replicas).toBe(2);

    const scaled = findManifest(one, 'ScaledObject', 'slate-data-plane-persistence');
    expect(scaled.metadata.namespace).toBe('background-persistence');
    expect(specOf(scaled)).toMatchObject({
      scaleTargetRef: { name: 'slate-data-plane-persistence' },
      minReplicaCount: 1,
      maxReplicaCount: 8,
      triggers: [
        {
          type: 'redis-streams',
          metadata: {
            address: 'redis-master.redis:6379',
            stream: 'slate:bus:result-bus',
            consumerGroup: 'background-persistence',
            lagCount: '10000',
            activationLagCount: '100',
          },
          authenticationRef: { name: 'slate-data-plane-persistence' },
        },
      ],
    });
    expect(specOf(findManifest(one, 'TriggerAuthentication', 'slate-data-plane-persistence'))).toEqual({
      secretTargetRef: [{ parameter: 'password', name: 'slate-redis', key: 'REDIS_PASSWORD' }],
    });
    // With a key prefix, pending entries and a separate bus Redis (all-switches).
    const other = specOf(findManifest(all, 'ScaledObject', 'slate-dp-persistence')).triggers as {
      metadata: object;
    }[];
    expect(other[0]!.metadata).toMatchObject({
      stream: 'acme:bus:result-bus',
      pendingEntriesCount: '500',
      enableTLS: 'true',
      databaseIndex: '2',
    });
    expect(specOf(findManifest(all, 'TriggerAuthentication', 'slate-dp-persistence'))).toEqual({
      secretTargetRef: [
        { parameter: 'username', name: 'slate-bus-redis', key: 'username' },
        { parameter: 'password', name: 'slate-bus-redis', key: 'password' },
      ],
    });
  });

  it('sets OTLP tracing on every role as the data plane reads it, and nothing without an endpoint', () => {
    for (const role of ROLES) {
      const container = containerOf(findManifest(all, 'Deployment', `slate-dp-${role}`));
      const env = envOf(container);
      expect(envEntry(container, 'OTEL_EXPORTER_OTLP_HEADERS').valueFrom).toEqual({
        secretKeyRef: { name: 'slate-otlp', key: 'headers' },
      });
      // What apps/data-plane/src/main.ts makes of these variables (the secret's headers aside).
      const plain = Object.fromEntries(
        Object.entries(env).filter(([name, value]) => name.startsWith('OTEL_') && typeof value === 'string'),
      );
      expect(tracingConfigFromEnv(plain)).toMatchObject({
        endpoint: 'http://otel-collector.observability:4318/v1/traces',
        protocol: 'http/json',
        sampler: 'parentbased_traceidratio',
        ratio: 0.05,
        serviceName: 'slate-dp-east',
        resourceAttributes: { 'deployment.environment': 'prod', team: 'ml platform' },
      });
    }
    for (const doc of manifestsOf(one, 'Deployment'))
      expect(Object.keys(envOf(containerOf(doc))).filter((name) => name.startsWith('OTEL_'))).toEqual([]);
  });

  it('sets the Redis bus and online store as @slate/stores reads them', () => {
    for (const role of ROLES) {
      const container = containerOf(findManifest(all, 'Deployment', `slate-dp-${role}`));
      expect(envEntry(container, 'REDIS_URL').valueFrom).toEqual({
        secretKeyRef: { name: 'slate-redis', key: 'url' },
      });
      expect(envEntry(container, 'SLATE_BUS_REDIS_URL').valueFrom).toEqual({
        secretKeyRef: { name: 'slate-bus-redis', key: 'url' },
      });
      expect(envOf(container).SLATE_REDIS_KEY_PREFIX).toBe('acme');
      expect(Object.keys(envOf(container)).filter((n) => n.startsWith('KAFKA_'))).toEqual([]);
    }
  });

  it('sets Kafka with SASL/SCRAM credentials from a Secret, and KEDA on the consumer-group lag', () => {
    const container = containerOf(findManifest(two, 'Deployment', 'slate-data-plane-persistence'));
    expect(envOf(container)).toMatchObject({
      KAFKA_BROKERS:
        'b-1.slate.abc123.c2.kafka.eu-west-1.amazonaws.com:9096,b-2.slate.abc123.c2.kafka.eu-west-1.amazonaws.com:9096',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_TOPIC_PREFIX: 'euw1.',
      KAFKA_PARTITIONS: '12',
    });
    expect(envEntry(container, 'KAFKA_SASL_USERNAME').valueFrom).toEqual({
      secretKeyRef: { name: 'slate-msk', key: 'username' },
    });
    expect(envEntry(container, 'KAFKA_SASL_PASSWORD').valueFrom).toEqual({
      secretKeyRef: { name: 'slate-msk', key: 'password' },
    });
    expect(envOf(container)).not.toHaveProperty('SLATE_BUS_REDIS_URL');
    const scaled = specOf(findManifest(two, 'ScaledObject', 'slate-data-plane-persistence'));
    expect(scaled.triggers).toEqual([
      {
        type: 'kafka',
        metadata: {
          bootstrapServers: envOf(container).KAFKA_BROKERS,
          topic: 'euw1.result-bus',
          consumerGroup: 'background-persistence',
          lagThreshold: '10000',
          activationLagThreshold: '100',
          offsetResetPolicy: 'earliest',
          tls: 'enable',
          sasl: 'scram_sha512',
        },
        authenticationRef: { name: 'slate-data-plane-persistence' },
      },
    ]);
    expect(specOf(findManifest(two, 'TriggerAuthentication', 'slate-data-plane-persistence'))).toEqual({
      secretTargetRef: [
        { parameter: 'username', name: 'slate-msk', key: 'username' },
        { parameter: 'password', name: 'slate-msk', key: 'password' },
      ],
    });
    // A remote data plane reaches the metadata plane by its public URL, which is also the issuer.
    expect(envOf(container)).toMatchObject({
      SLATE_METADATA_PLANE_URL: 'https://slate.acme.example',
      SLATE_METADATA_PLANE_ISSUER: 'https://slate.acme.example',
      SLATE_DATA_PLANE_NAME: 'eu-west-1',
    });
  });

  it('runs every role in one Deployment in layout combined', async () => {
    const docs = await renderChart('dataPlane', { files: SMALL });
    const deployments = manifestsOf(docs, 'Deployment');
    expect(deployments.map((d) => d.metadata.name)).toEqual(['rel']);
    const container = containerOf(deployments[0]!);
    expect(envOf(container)).toMatchObject({ SLATE_ROLE: 'all', SLATE_WORKERS: '2', PORT: '4001' });
    expect(specOf(deployments[0]!).replicas).toBe(2);
    expect(specOf(findManifest(docs, 'Service', 'rel')).selector).toMatchObject({
      'app.kubernetes.io/component': 'data-plane',
    });
    expect(manifestsOf(docs, 'ScaledObject')).toEqual([]);
    const ingress = findManifest(docs, 'Ingress', 'rel');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt' });
    expect(specOf(ingress).tls).toEqual([{ hosts: ['query.acme.example'], secretName: 'rel-tls' }]);
  });

  it('serves the gRPC query API on the query servers only, as port grpc of the Service', async () => {
    const docs = await renderChart('dataPlane', { files: SMALL });
    const container = containerOf(findManifest(docs, 'Deployment', 'rel'));
    expect(envOf(container)).toMatchObject({ SLATE_GRPC_PORT: '4002' });
    expect(container.ports).toContainEqual({ name: 'grpc', containerPort: 4002, protocol: 'TCP' });
    expect(specOf(findManifest(docs, 'Service', 'rel')).ports).toContainEqual({
      name: 'grpc',
      port: 4002,
      targetPort: 'grpc',
      protocol: 'TCP',
      appProtocol: 'kubernetes.io/h2c',
    });
    // Roles without the query API never listen for gRPC.
    for (const role of ['persistence', 'streaming', 'jobs'])
      expect(envOf(containerOf(findManifest(all, 'Deployment', `slate-dp-${role}`)))).toMatchObject({
        SLATE_GRPC_PORT: 'off',
      });
    const off = await renderChart('dataPlane', { files: SMALL, values: { grpc: { enabled: false } } });
    expect(envOf(containerOf(findManifest(off, 'Deployment', 'rel')))).toMatchObject({
      SLATE_GRPC_PORT: 'off',
    });
    const message = await renderChartError('dataPlane', { files: SMALL, values: { grpc: { port: 4001 } } });
    expect(problemPaths(message)).toEqual(['grpc.port']);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: Slate's secret reference syntax, not a template
  it('passes data sources as JSON, credentials left to ${secret:NAME}', () => {
    const env = envOf(containerOf(findManifest(all, 'Deployment', 'slate-dp-jobs')));
    expect(JSON.parse(env.SLATE_DATA_SOURCES!)).toEqual([
      {
        name: 'app_db',
        type: 'postgres',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Slate's secret reference syntax, not a template
        url: 'postgres://app:${secret:APP_DB_PASSWORD}@db.acme.example:5432/app',
        maxConnections: 8,
      },
      { name: 'legacy', type: 'mysql', url: 'mysql://reader@mysql.acme.example/legacy', environment: 'prod' },
    ]);
  });

  it('refuses bad values in one message listing every problem', async () => {
    const message = await renderChartError('dataPlane', {
      values: {
        name: 'EU West',
        metadataPlane: { url: 'chalk-metadata-plane:4000' },
        publicUrl: '<YOUR QUERY HOST>',
        objectStore: { bucketPrefix: 'acme' },
        onlineStore: { redis: { existingSecret: 'slate-redis' } },
        bus: { type: 'kafka', kafka: { brokers: ['kafka-1'], sasl: { mechanism: 'scram-sha-512' } } },
        dataSources: [{ name: '1db', type: 'postgres', url: 'postgres://app:hunter2@db/app' }],
        metrics: { port: 4001 },
        roles: {
          persistence: {
            keda: { enabled: true, minReplicaCount: 4, maxReplicaCount: 2 },
            autoscaling: { enabled: true },
          },
          query: { autoscaling: { minReplicas: 12 } },
        },
      },
    });
    expect(problemPaths(message)).toEqual([
      'name',
      'metadataPlane.url',
      'publicUrl',
      'registration.existingSecret',
      'groupKey.existingSecret',
      'bus.kafka.brokers[0]',
      'bus.kafka.sasl.existingSecret',
      'roles.query.autoscaling',
      'roles.persistence.autoscaling.enabled',
      'roles.persistence.keda',
      'dataSources[0].name',
      'dataSources[0].url',
      'metrics.port',
    ]);
    expect(message).toContain('13 value(s) to fix');
    expect(message).toContain('holds a password in clear');
    expect(message).not.toContain('hunter2');
  });

  it('refuses a Redis bus scaled by KEDA without the address KEDA needs, and a data plane with no role', async () => {
    const base = {
      metadataPlane: { url: 'https://slate.acme.example' },
      publicUrl: 'https://q.acme.example',
      registration: { existingSecret: 'r' },
      groupKey: { existingSecret: 'k' },
      objectStore: { bucketPrefix: 'acme' },
      onlineStore: { redis: { existingSecret: 'slate-redis' } },
    };
    const noAddress = await renderChartError('dataPlane', {
      values: { ...base, roles: { persistence: { keda: { enabled: true } } } },
    });
    expect(problemPaths(noAddress)).toEqual(['roles.persistence.keda.redis.address']);
    const none = Object.fromEntries(ROLES.map((r) => [r, { enabled: false }]));
    expect(problemPaths(await renderChartError('dataPlane', { values: { ...base, roles: none } }))).toEqual([
      'roles',
    ]);
  });
});
