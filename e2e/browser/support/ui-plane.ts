import { createMetadataPlane, type MetadataPlane } from '@slate/metadata-plane';
import { createLocalObjectStore, type ObjectStore } from '@slate/stores';
import { freePort } from '@slate/testing';
import { pino } from 'pino';
import type { TestIdentityProvider } from './test-identity-provider.ts';

/** What `startUiPlane` starts. */
export interface UiPlaneOptions {
  /** `embedded` (`slate up`: the email form) or `production` (identity providers only). */
  readonly mode: 'embedded' | 'production';
  /** The built UI it serves (`buildWebUi`). */
  readonly webRoot: string;
  /** Its object store's folder. */
  readonly objectsRoot: string;
  /** A seed document (`teamSeed`, or the installation guide's shape). */
  readonly seed: unknown;
  readonly registrationToken?: string;
  /** Its port (default a free one: pass one when an identity provider must know the callback first). */
  readonly port?: number;
  /** Registered as provider `corp`, "Corp SSO". */
  readonly oidc?: TestIdentityProvider;
}

/** A metadata plane serving the built UI in the test's process, on a clock the test can move forward. */
export interface UiPlane {
  readonly url: string;
  readonly plane: MetadataPlane;
  readonly objectStore: ObjectStore;
  readonly registrationToken: string;
  /** Moves the plane's clock `ms` ahead (session expiry without waiting). */
  advanceClock(ms: number): void;
  close(): Promise<void>;
}

/**
 * Starts a metadata plane (PGlite, a local object store, the scheduler off) that serves `webRoot` at `/`.
 *
 * @example
 * const ui = await startUiPlane({ mode: 'embedded', webRoot, objectsRoot: join(work, 'objects'), seed });
 * … finally: await ui.close();
 */
export async function startUiPlane(options: UiPlaneOptions): Promise<UiPlane> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const registrationToken = options.registrationToken ?? 'browser-tests-registration-token';
  let offset = 0;
  const objectStore = createLocalObjectStore({ root: options.objectsRoot });
  await objectStore.init();
  const plane = await createMetadataPlane({
    mode: options.mode,
    database: { type: 'pglite' },
    objectStore,
    apiServer: url,
    registrationToken,
    seed: options.seed,
    webRoot: options.webRoot,
    now: () => new Date(Date.now() + offset),
    scheduler: { enabled: false },
    oidcProviders: options.oidc
      ? [
          {
            id: 'corp',
            name: 'Corp SSO',
            issuer: options.oidc.issuer,
            clientId: options.oidc.clientId,
            clientSecret: options.oidc.clientSecret,
            allowInsecure: true,
          },
        ]
      : [],
    logger: pino({ level: 'silent' }),
  });
  await plane.listen({ host: '127.0.0.1', port });
  return {
    url,
    plane,
    objectStore,
    registrationToken,
    advanceClock: (ms) => {
      offset += ms;
    },
    close: () => plane.close(),
  };
}

/** The usual seed: team `acme` (one project, one environment) and an invite that makes `owner` its owner. */
export function teamSeed(options: {
  readonly environment: { readonly id: string; readonly name: string };
  readonly project?: { readonly id: string; readonly name: string };
  readonly invite: { readonly email: string; readonly role: string };
}) {
  const project = options.project ?? { id: 'fraud', name: 'Fraud' };
  return {
    teams: [{ id: 'acme', name: 'Acme' }],
    projects: [{ ...project, team_id: 'acme' }],
    environments: [{ ...options.environment, project_id: project.id, team_id: 'acme' }],
    team_invites: [{ id: 'invite-1', team: 'acme', ...options.invite }],
  };
}
