import { GraphArtifactSchema, type MetricReport, SlateError } from '@slate/graph';
import { z } from 'zod';
import type { BatchReport, BatchStatusReport } from './batch-status-reporter.ts';
import { type DataPlaneKey, loadDataPlaneKeyFile, loadOrCreateDataPlaneKey } from './data-plane-key.ts';

/** What the metadata plane wants this data plane to run. */
export const DesiredStateSchema = z.object({
  revision: z.number(),
  environments: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      project_id: z.string(),
      team_id: z.string(),
      desired_deployment: z
        .object({
          id: z.string(),
          bundle: z.object({ bucket: z.literal('source'), key: z.string(), sha256: z.string() }),
          graph: GraphArtifactSchema,
        })
        .nullable(),
      /** What to provision (object-storage prefixes per bucket, online-store namespace). */
      provisioning: z
        .object({
          object_prefixes: z.record(z.string(), z.string()),
          online_namespace: z.string(),
        })
        .optional(),
      /** The environment's secrets, sealed to this data plane's public key. */
      secrets: z
        .array(z.object({ name: z.string(), sealed: z.string(), updated_at: z.string() }))
        .default([]),
    }),
  ),
  /** Service tokens whose access tokens this data plane must refuse (revoked or rotated recently). */
  revoked_tokens: z
    .array(z.object({ id: z.string(), issued_before: z.number().nullable(), until: z.number() }))
    .max(1_000_000)
    .default([]),
});
export type DesiredState = z.infer<typeof DesiredStateSchema>;
export type DesiredEnvironment = DesiredState['environments'][number];

/** How one environment's deployment went on this data plane. */
export interface EnvironmentStatus {
  readonly id: string;
  readonly active_deployment_id: string | null;
  /** The desired deployment this status is about; null when none is desired yet. */
  readonly deployment_id: string | null;
  readonly state?: 'loaded' | 'failed';
  readonly error?: string;
  /** What was provisioned for the environment (echo of the desired `provisioning`). */
  readonly provisioned?: { object_prefixes: Record<string, string>; online_namespace: string };
  /** Names of secrets that could not be opened. */
  readonly secret_errors?: string[];
}

/** The data plane's side of the control channel: it pulls desired state and pushes observed state. */
export interface ControlPlaneClient {
  /** Long-polls until the desired state is newer than `since` or `waitSeconds` pass. */
  desiredState(since: number, waitSeconds: number, signal?: AbortSignal): Promise<DesiredState>;
  reportStatus(environments: readonly EnvironmentStatus[]): Promise<void>;
  /** Says this data plane is alive (status reports count too; this is for when nothing else is sent). */
  heartbeat?(): Promise<void>;
  /** Reports usage counters; `report_id` makes a retried report count once. */
  reportUsage?(report: UsageReport): Promise<void>;
  /** Reports closed minutes of metric rollups; a retried report counts once per source and minute. */
  reportMetrics?(report: MetricReport): Promise<MetricReportOutcome>;
  /** Reports the status of an offline query or a run (the metadata plane's `batch-status` queue). */
  reportBatchStatus?(report: BatchStatusReport): Promise<void>;
  /** Sends the final report of a finished offline query or run (the metadata plane's `batch-report` queue). */
  reportBatchReport?(report: BatchReport): Promise<void>;
  /**
   * Long-polls for scheduled triggers of the environments this data plane serves, leasing them (a lease
   * not acknowledged within a minute is handed out again).
   */
  leaseTriggers?(max: number, waitSeconds: number, signal?: AbortSignal): Promise<LeasedTrigger[]>;
  /** Settles leased triggers: after starting each (with what it started), or with the error that refused it. */
  ackTriggers?(acks: readonly TriggerAck[]): Promise<void>;
  /**
   * Claims (or renews) the lease on a job among this data plane's instances; `granted` when this instance
   * holds it now. A holder that stops renewing loses it once `ttlSeconds` pass.
   */
  claimLease?(key: string, ttlSeconds: number): Promise<JobLease>;
  /** Gives up a lease this instance holds (the job finished). */
  releaseLease?(key: string): Promise<void>;
}

/** The answer to a lease claim. */
export const JobLeaseSchema = z.object({
  key: z.string(),
  granted: z.boolean(),
  holder: z.string(),
  expires_at: z.string(),
  generation: z.number().int().positive(),
});
export type JobLease = z.infer<typeof JobLeaseSchema>;

/** A scheduled trigger leased from the metadata plane (its scheduler fired a cron resolver or scheduled query). */
export const LeasedTriggerSchema = z.object({
  key: z.string().min(1),
  kind: z.enum(['resolver', 'query']),
  /** The trigger message: validated by whatever starts it (run trigger, scheduled-query trigger). */
  body: z.record(z.string(), z.unknown()),
  attempt: z.number().int().positive(),
});
export type LeasedTrigger = z.infer<typeof LeasedTriggerSchema>;

/** The outcome of a leased trigger: started (with what it started), or refused with why. */
export interface TriggerAck {
  readonly key: string;
  readonly operation_id?: string | null;
  readonly error?: string | null;
}

/** What the metadata plane did with a metric report's points. */
const MetricReportOutcomeSchema = z.object({
  recorded: z.number(),
  duplicates: z.number(),
  ignored: z.number(),
  stale: z.number(),
});
export type MetricReportOutcome = z.infer<typeof MetricReportOutcomeSchema>;

/** Usage counters since the previous report, per environment and the instant they happened in. */
export interface UsageReport {
  readonly report_id: string;
  readonly entries: readonly {
    readonly environment_id: string;
    readonly at: string;
    readonly queries: number;
    readonly rows: number;
    readonly compute_seconds: number;
  }[];
}

const Registration = z.object({
  data_plane_id: z.string(),
  instance_id: z.string().optional(),
  token: z.string(),
});

/**
 * Registers this instance of a data plane with the metadata plane (with the registration token) and
 * returns a client that speaks for the instance with the long-lived token it received. Instances of one
 * data plane (same `name`) register side by side: none revokes another's token.
 *
 * @throws SlateError `unavailable` when the metadata plane cannot be reached, `authentication` when it
 *   refuses, `input` when it refuses the registration (e.g. `DATA_PLANE_KEY_MISMATCH`: a live peer holds
 *   another group key).
 */
export async function registerDataPlane(options: {
  metadataPlaneUrl: string;
  registrationToken: string;
  name: string;
  publicUrl: string;
  /** This replica's id within the data plane (default: the metadata plane's `default`). */
  instanceId?: string;
  /** The roles this instance runs (default: every role). */
  roles?: readonly string[];
  /** The software version, shown with the instance's health. */
  version?: string;
  /**
   * The data plane's group key (an X25519 private JWK every replica shares, from a Kubernetes secret);
   * read-only. Takes precedence over `keyDir`.
   */
  keyFile?: string;
  /**
   * Folder holding this data plane's X25519 key (created on first start: a single-instance data plane).
   * With a key, registration sends the public key and the client can open the sealed secrets.
   */
  keyDir?: string;
}): Promise<
  ControlPlaneClient & { readonly id: string; readonly instanceId: string; readonly key: DataPlaneKey | null }
> {
  const base = options.metadataPlaneUrl.replace(/\/$/, '');
  const key = options.keyFile
    ? await loadDataPlaneKeyFile(options.keyFile)
    : options.keyDir
      ? await loadOrCreateDataPlaneKey(options.keyDir)
      : null;
  const registration = Registration.parse(
    await send(`${base}/v1/data-planes/register`, options.registrationToken, {
      name: options.name,
      url: options.publicUrl,
      ...(key ? { public_key: key.publicKey } : {}),
      ...(options.instanceId ? { instance_id: options.instanceId } : {}),
      ...(options.roles ? { roles: options.roles } : {}),
      ...(options.version ? { version: options.version } : {}),
    }),
  );
  const token = registration.token;
  return {
    id: registration.data_plane_id,
    instanceId: registration.instance_id ?? options.instanceId ?? 'default',
    key,
    async desiredState(since, waitSeconds, signal) {
      const url = `${base}/v1/data-plane/desired-state?since=${since}&wait=${waitSeconds}`;
      return DesiredStateSchema.parse(await send(url, token, undefined, signal));
    },
    async reportStatus(environments) {
      await send(`${base}/v1/data-plane/status`, token, { environments });
    },
    async heartbeat() {
      await send(`${base}/v1/data-plane/heartbeat`, token, {});
    },
    async reportUsage(report) {
      await send(`${base}/v1/data-plane/usage`, token, report);
    },
    async reportMetrics(report) {
      return MetricReportOutcomeSchema.parse(await send(`${base}/v1/data-plane/metrics`, token, report));
    },
    async reportBatchStatus(report) {
      await send(`${base}/v1/data-plane/batch-status`, token, report);
    },
    async reportBatchReport(report) {
      await send(`${base}/v1/data-plane/batch-report`, token, report);
    },
    async leaseTriggers(max, waitSeconds, signal) {
      const answer = await send(
        `${base}/v1/data-plane/triggers/lease`,
        token,
        { max, wait: waitSeconds },
        signal,
      );
      return z.object({ items: z.array(LeasedTriggerSchema) }).parse(answer).items;
    },
    async ackTriggers(acks) {
      if (acks.length > 0) await send(`${base}/v1/data-plane/triggers/ack`, token, { acks });
    },
    async claimLease(key, ttlSeconds) {
      return JobLeaseSchema.parse(
        await send(`${base}/v1/data-plane/leases/claim`, token, { key, ttl_seconds: ttlSeconds }),
      );
    },
    async releaseLease(key) {
      await send(`${base}/v1/data-plane/leases/release`, token, { key });
    },
  };
}

async function send(url: string, token: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new SlateError(
      'unavailable',
      'METADATA_PLANE_UNREACHABLE',
      `cannot reach the metadata plane at ${url}`,
      undefined,
      { cause: error },
    );
  }
  const text = await response.text();
  if (!response.ok) {
    const kind =
      response.status === 401 || response.status === 403
        ? 'authentication'
        : response.status >= 500
          ? 'unavailable'
          : 'input';
    // The metadata plane's error shape: name its stable code first, so an operator reads why at once.
    const answer = z.object({ code: z.string().max(100), message: z.string() }).safeParse(safeJson(text));
    throw new SlateError(
      kind,
      'METADATA_PLANE_REFUSED',
      answer.success
        ? `the metadata plane answered ${response.status} ${answer.data.code}: ${answer.data.message.slice(0, 500)}`
        : `the metadata plane answered ${response.status}: ${text.slice(0, 300)}`,
      answer.success ? { status: response.status, code: answer.data.code } : { status: response.status },
    );
  }
  return text ? JSON.parse(text) : null;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
