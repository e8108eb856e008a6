import { GraphArtifactSchema, SlateError } from '@slate/graph';
import { z } from 'zod';

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
    }),
  ),
});
export type DesiredState = z.infer<typeof DesiredStateSchema>;
export type DesiredEnvironment = DesiredState['environments'][number];

/** How one environment's deployment went on this data plane. */
export interface EnvironmentStatus {
  readonly id: string;
  readonly active_deployment_id: string | null;
  readonly deployment_id: string;
  readonly state: 'loaded' | 'failed';
  readonly error?: string;
}

/** The data plane's side of the control channel: it pulls desired state and pushes observed state. */
export interface ControlPlaneClient {
  /** Long-polls until the desired state is newer than `since` or `waitSeconds` pass. */
  desiredState(since: number, waitSeconds: number, signal?: AbortSignal): Promise<DesiredState>;
  reportStatus(environments: readonly EnvironmentStatus[]): Promise<void>;
}

const Registration = z.object({ data_plane_id: z.string(), token: z.string() });

/**
 * Registers with the metadata plane (with the registration token) and returns a client that speaks for
 * this data plane with the long-lived token it received.
 *
 * @throws SlateError `unavailable` when the metadata plane cannot be reached, `authentication` when it refuses.
 */
export async function registerDataPlane(options: {
  metadataPlaneUrl: string;
  registrationToken: string;
  name: string;
  publicUrl: string;
}): Promise<ControlPlaneClient & { readonly id: string }> {
  const base = options.metadataPlaneUrl.replace(/\/$/, '');
  const registration = Registration.parse(
    await send(`${base}/v1/data-planes/register`, options.registrationToken, {
      name: options.name,
      url: options.publicUrl,
    }),
  );
  const token = registration.token;
  return {
    id: registration.data_plane_id,
    async desiredState(since, waitSeconds, signal) {
      const url = `${base}/v1/data-plane/desired-state?since=${since}&wait=${waitSeconds}`;
      return DesiredStateSchema.parse(await send(url, token, undefined, signal));
    },
    async reportStatus(environments) {
      await send(`${base}/v1/data-plane/status`, token, { environments });
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
    throw new SlateError(
      kind,
      'METADATA_PLANE_REFUSED',
      `the metadata plane answered ${response.status}: ${text.slice(0, 300)}`,
    );
  }
  return text ? JSON.parse(text) : null;
}
