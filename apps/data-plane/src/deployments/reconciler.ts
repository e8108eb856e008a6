import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type {
  ControlPlaneClient,
  DesiredEnvironment,
  DesiredState,
  EnvironmentStatus,
} from '../control-plane/control-plane-client.ts';
import type { DataPlaneKey } from '../control-plane/data-plane-key.ts';
import type { DeploymentLoader } from './deployment-loader.ts';
import type { EnvironmentProvisioner, Provisioning } from './environment-provisioner.ts';
import type { ServedEnvironments } from './served-environments.ts';

export interface Reconciler {
  /** Resolves once the first desired state has been applied (the data plane is ready). */
  readonly ready: Promise<void>;
  /** Applies one desired state now (used by the loop and by tests). */
  reconcile(state: DesiredState): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps this data plane's deployments equal to what the metadata plane wants. It long-polls the desired
 * state, compares it with what is loaded (re-read every time, never trusting an event), loads what
 * differs, and reports the observed state after every pass, which doubles as the heartbeat. A deployment
 * that fails to load is reported and not retried until the desired deployment changes; the previous one
 * keeps serving.
 */
export function startReconciler(options: {
  control: ControlPlaneClient;
  load: DeploymentLoader;
  served: ServedEnvironments;
  logger: Logger;
  /** Seconds each long-poll may wait (default 20). */
  pollSeconds?: number;
  /** Opens the sealed secrets of the desired state (without it, deployments get no secrets). */
  key?: DataPlaneKey | null;
  /** Provisions environments' storage (without it, nothing is provisioned or reported). */
  provision?: EnvironmentProvisioner;
  /** Receives each desired state's token revocations (the token verifier's list), before anything loads. */
  revocations?: (revoked: DesiredState['revoked_tokens']) => void;
}): Reconciler {
  const { control, load, served, logger } = options;
  const failed = new Map<string, string>();
  /** environment id → fingerprint of the secrets its active deployment was loaded with. */
  const loadedSecrets = new Map<string, string>();
  /** environment id → what was provisioned (JSON), so an unchanged spec is not re-provisioned. */
  const provisioned = new Map<string, string>();

  // Secrets are opened on every pass from the desired state (never cached in the clear beyond the
  // workers that use them); the fingerprint of the sealed values tells when a reload is needed.
  const openSecrets = (env: DesiredEnvironment) => {
    const values: Record<string, string> = {};
    const errors: string[] = [];
    for (const secret of env.secrets) {
      if (!options.key) {
        errors.push(secret.name);
        continue;
      }
      try {
        values[secret.name] = options.key.open(secret.sealed, `${env.id}/${secret.name}`);
      } catch {
        errors.push(secret.name);
      }
    }
    const fingerprint = createHash('sha256')
      .update(JSON.stringify(env.secrets.map((s) => [s.name, s.sealed])))
      .digest('hex');
    return { values, errors, fingerprint };
  };
  const provisionEnvironment = async (env: DesiredEnvironment): Promise<Provisioning | undefined> => {
    if (!options.provision || !env.provisioning) return undefined;
    const spec = JSON.stringify(env.provisioning);
    if (provisioned.get(env.id) !== spec) {
      try {
        await options.provision(env.id, env.provisioning);
        provisioned.set(env.id, spec);
      } catch (error) {
        logger.error(
          { environment: env.id, err: error instanceof Error ? error.message : String(error) },
          'environment provisioning failed',
        );
        return undefined;
      }
    }
    return env.provisioning;
  };
  const abort = new AbortController();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const reconcile = async (state: DesiredState): Promise<void> => {
    // First: a revocation must not wait behind a slow deployment load.
    options.revocations?.(state.revoked_tokens);
    const statuses: EnvironmentStatus[] = [];
    for (const env of state.environments) {
      served.upsert({ id: env.id, name: env.name, teamId: env.team_id, projectId: env.project_id });
      const provisionedNow = await provisionEnvironment(env);
      const secrets = openSecrets(env);
      const extra = {
        ...(provisionedNow ? { provisioned: provisionedNow } : {}),
        ...(secrets.errors.length > 0 ? { secret_errors: secrets.errors } : {}),
      };
      const desired = env.desired_deployment;
      const active = served.get(env.id)?.deployment ?? null;
      if (!desired) {
        statuses.push({
          id: env.id,
          active_deployment_id: active?.id ?? null,
          deployment_id: null,
          ...extra,
        });
        continue;
      }
      // A changed secret reloads the same deployment: workers receive secrets when they boot.
      const secretsChanged = active?.id === desired.id && loadedSecrets.get(env.id) !== secrets.fingerprint;
      const failureKey = `${desired.id}:${secrets.fingerprint}`;
      if ((active?.id !== desired.id || secretsChanged) && !failed.has(failureKey)) {
        try {
          const started = Date.now();
          const engine = await load(env, desired, secrets.values);
          served.activate(env.id, { id: desired.id, engine });
          loadedSecrets.set(env.id, secrets.fingerprint);
          logger.info(
            { environment: env.id, deployment: desired.id, ms: Date.now() - started },
            'deployment activated',
          );
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          failed.set(failureKey, message);
          logger.error(
            { environment: env.id, deployment: desired.id, err: message },
            'deployment failed to load',
          );
        }
      }
      const now = served.get(env.id)?.deployment ?? null;
      const error = failed.get(failureKey);
      statuses.push({
        id: env.id,
        active_deployment_id: now?.id ?? null,
        deployment_id: desired.id,
        state: error === undefined ? 'loaded' : 'failed',
        ...(error === undefined ? {} : { error }),
        ...extra,
      });
    }
    await control.reportStatus(statuses);
  };

  const loop = async () => {
    let since = 0;
    let backoffMs = 250;
    while (!abort.signal.aborted) {
      try {
        const state = await control.desiredState(
          since,
          since === 0 ? 0 : (options.pollSeconds ?? 20),
          abort.signal,
        );
        await reconcile(state);
        since = state.revision;
        backoffMs = 250;
        markReady();
      } catch (error) {
        if (abort.signal.aborted) break;
        logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'reconcile failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  };
  const running = loop();

  return {
    ready,
    reconcile,
    async stop() {
      abort.abort();
      await running;
    },
  };
}
