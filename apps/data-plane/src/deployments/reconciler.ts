import type { Logger } from 'pino';
import type {
  ControlPlaneClient,
  DesiredState,
  EnvironmentStatus,
} from '../control-plane/control-plane-client.ts';
import type { DeploymentLoader } from './deployment-loader.ts';
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
}): Reconciler {
  const { control, load, served, logger } = options;
  const failed = new Map<string, string>();
  const abort = new AbortController();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const reconcile = async (state: DesiredState): Promise<void> => {
    const statuses: EnvironmentStatus[] = [];
    for (const env of state.environments) {
      served.upsert({ id: env.id, name: env.name, teamId: env.team_id, projectId: env.project_id });
      const desired = env.desired_deployment;
      const active = served.get(env.id)?.deployment ?? null;
      if (!desired) continue;
      if (active?.id !== desired.id && !failed.has(desired.id)) {
        try {
          const started = Date.now();
          const engine = await load(env, desired);
          served.activate(env.id, { id: desired.id, engine });
          logger.info(
            { environment: env.id, deployment: desired.id, ms: Date.now() - started },
            'deployment activated',
          );
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          failed.set(desired.id, message);
          logger.error(
            { environment: env.id, deployment: desired.id, err: message },
            'deployment failed to load',
          );
        }
      }
      const now = served.get(env.id)?.deployment ?? null;
      const error = failed.get(desired.id);
      statuses.push({
        id: env.id,
        active_deployment_id: now?.id ?? null,
        deployment_id: desired.id,
        state: error === undefined ? 'loaded' : 'failed',
        ...(error === undefined ? {} : { error }),
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
