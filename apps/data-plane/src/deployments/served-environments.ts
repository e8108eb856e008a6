import type { Engine } from '@slate/engine';

/** An environment this data plane serves, with the deployment currently answering its queries. */
export interface ServedEnvironment {
  readonly id: string;
  readonly name: string;
  readonly teamId: string;
  readonly projectId: string;
  readonly deployment: ServedDeployment | null;
}

/** A loaded deployment; queries hold a lease on it so it is closed only after they finish. */
export interface ServedDeployment {
  readonly id: string;
  readonly engine: Engine;
}

/**
 * The environments and active deployments of this data plane. Swapping a deployment is atomic for new
 * queries; the replaced engine is closed once its in-flight queries have finished, so a rollout never
 * fails a query.
 */
export class ServedEnvironments {
  private readonly environments = new Map<string, ServedEnvironment>();
  private readonly leases = new Map<Engine, number>();
  private readonly retiring = new Set<Engine>();

  get(id: string): ServedEnvironment | undefined {
    return this.environments.get(id);
  }

  list(): ServedEnvironment[] {
    return [...this.environments.values()];
  }

  /** Records an environment's identity, keeping its deployment. */
  upsert(environment: Omit<ServedEnvironment, 'deployment'>): void {
    this.environments.set(environment.id, {
      ...environment,
      deployment: this.environments.get(environment.id)?.deployment ?? null,
    });
  }

  /** Makes `deployment` answer the environment's new queries and retires the one it replaces. */
  activate(environmentId: string, deployment: ServedDeployment): void {
    const current = this.environments.get(environmentId);
    if (!current) throw new Error(`unknown environment ${environmentId}`);
    this.environments.set(environmentId, { ...current, deployment });
    if (current.deployment && current.deployment.engine !== deployment.engine)
      this.retire(current.deployment.engine);
  }

  /** Runs `work` with the environment's active engine, which stays open until `work` settles. */
  async withEngine<T>(
    environmentId: string,
    work: (deployment: ServedDeployment) => Promise<T>,
  ): Promise<T | undefined> {
    const deployment = this.environments.get(environmentId)?.deployment;
    if (!deployment) return undefined;
    this.leases.set(deployment.engine, (this.leases.get(deployment.engine) ?? 0) + 1);
    try {
      return await work(deployment);
    } finally {
      const left = this.leases.get(deployment.engine)! - 1;
      if (left > 0) this.leases.set(deployment.engine, left);
      else {
        this.leases.delete(deployment.engine);
        if (this.retiring.delete(deployment.engine)) void deployment.engine.close();
      }
    }
  }

  /** Closes every engine (at shutdown). */
  async close(): Promise<void> {
    const engines = new Set([
      ...this.retiring,
      ...this.list().flatMap((env) => (env.deployment ? [env.deployment.engine] : [])),
    ]);
    this.environments.clear();
    this.retiring.clear();
    await Promise.all([...engines].map((engine) => engine.close()));
  }

  private retire(engine: Engine): void {
    if ((this.leases.get(engine) ?? 0) === 0) void engine.close();
    else this.retiring.add(engine);
  }
}
