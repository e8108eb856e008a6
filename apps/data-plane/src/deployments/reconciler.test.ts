import { generateKeyPairSync } from 'node:crypto';
import { createEngine, createInProcessRuntime, type Engine } from '@slate/engine';
import { collectGraph } from '@slate/sdk';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  ControlPlaneClient,
  DesiredState,
  EnvironmentStatus,
} from '../control-plane/control-plane-client.ts';
import { dataPlaneKeyOf } from '../control-plane/data-plane-key.ts';
import { sealForTest } from '../control-plane/fixtures/seal-for-test.ts';
import type { DeploymentLoader } from './deployment-loader.ts';
import type { EnvironmentProvisioner, Provisioning } from './environment-provisioner.ts';
import * as secretModule from './fixtures/secret-module.ts';
import { type Reconciler, startReconciler } from './reconciler.ts';
import { ServedEnvironments } from './served-environments.ts';

const { artifact, functions } = collectGraph(secretModule);
const key = dataPlaneKeyOf(generateKeyPairSync('x25519').privateKey);
const PROVISIONING: Provisioning = {
  object_prefixes: {
    data: 'env/dev/',
    source: 'env/dev/',
    dataset: 'env/dev/',
    model: 'env/dev/',
    stages: 'env/dev/',
  },
  online_namespace: 'dev',
};

/** A control plane held in memory: the desired state the test sets, the reports the reconciler sends. */
function memoryControl() {
  const reports: EnvironmentStatus[][] = [];
  let state: DesiredState = { revision: 1, environments: [], revoked_tokens: [] };
  const control: ControlPlaneClient = {
    desiredState: async (since, wait, signal) => {
      if (since >= state.revision) await new Promise((r) => setTimeout(r, Math.min(wait * 1000, 50)));
      if (signal?.aborted) throw new Error('aborted');
      return state;
    },
    reportStatus: async (environments) => {
      reports.push([...environments]);
    },
  };
  return { control, reports, set: (s: DesiredState) => (state = s) };
}

function desired(revision: number, secrets: { name: string; sealed: string }[]): DesiredState {
  return {
    revision,
    revoked_tokens: [],
    environments: [
      {
        id: 'dev',
        name: 'Development',
        project_id: 'web',
        team_id: 'acme',
        desired_deployment: {
          id: 'cdep1',
          bundle: { bucket: 'source', key: 'env/dev/bundles/x.mjs', sha256: '0'.repeat(64) },
          graph: artifact,
        },
        provisioning: PROVISIONING,
        secrets: secrets.map((s) => ({ ...s, updated_at: '2026-01-01T00:00:00Z' })),
      },
    ],
  };
}

describe('reconciler: secrets and provisioning', () => {
  let reconciler: Reconciler | undefined;
  const served = new ServedEnvironments();
  afterEach(async () => {
    await reconciler?.stop();
    await served.close();
  });

  it('opens sealed secrets for the loader, reloads when they change, reports unopenable ones and provisioning', async () => {
    const loads: Record<string, string>[] = [];
    // The loader under test's seam: a real engine whose resolvers see exactly the secrets it was given.
    const load: DeploymentLoader = async (_env, _deployment, secrets = {}) => {
      loads.push({ ...secrets });
      const engine: Engine = createEngine({
        graph: artifact,
        runtime: createInProcessRuntime(functions, { secrets: new Map(Object.entries(secrets)) }),
        environment: 'dev',
        deploymentId: 'cdep1',
      });
      return engine;
    };
    const provisioned: string[] = [];
    const provision: EnvironmentProvisioner = async (id, p) => {
      provisioned.push(id);
      return p;
    };
    const { control, reports } = memoryControl();
    reconciler = startReconciler({
      control,
      load,
      served,
      logger: pino({ level: 'silent' }),
      key,
      provision,
    });
    const apiKey = async () =>
      served.withEngine('dev', async (d) => {
        const result = await d.engine.query({ inputs: { 'vault.id': [1] }, outputs: ['vault.api_key'] });
        return result.columns[0]?.values[0];
      });

    const firstSealed = sealForTest(key.publicKey, 'v1', 'dev/API_KEY');
    await reconciler.reconcile(desired(2, [{ name: 'API_KEY', sealed: firstSealed }]));
    expect(await apiKey()).toBe('v1');
    expect(reports.at(-1)).toEqual([
      {
        id: 'dev',
        active_deployment_id: 'cdep1',
        deployment_id: 'cdep1',
        state: 'loaded',
        provisioned: PROVISIONING,
      },
    ]);

    // The same sealed secrets again: nothing reloads, nothing is provisioned twice.
    await reconciler.reconcile(desired(3, [{ name: 'API_KEY', sealed: firstSealed }]));
    expect(loads).toHaveLength(1);
    expect(provisioned).toEqual(['dev']);

    // A new value (new sealed box) reloads the same deployment with it.
    await reconciler.reconcile(
      desired(4, [{ name: 'API_KEY', sealed: sealForTest(key.publicKey, 'v2', 'dev/API_KEY') }]),
    );
    expect(await apiKey()).toBe('v2');
    expect(loads.map((l) => l.API_KEY)).toEqual(['v1', 'v2']);

    // A box sealed for another slot cannot be opened: reported by name, and the value never reaches resolvers.
    await reconciler.reconcile(
      desired(5, [{ name: 'API_KEY', sealed: sealForTest(key.publicKey, 'v2', 'dev/OTHER') }]),
    );
    expect(reports.at(-1)?.[0]?.secret_errors).toEqual(['API_KEY']);
    expect(await apiKey()).toBe('unset');
  });
});
