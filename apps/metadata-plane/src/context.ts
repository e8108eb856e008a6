import type { ObjectStore } from '@slate/stores';
import type { Kysely } from 'kysely';
import type { KeyEncryptionKeyProvider } from './auth/key-encryption.ts';
import type { KeyRing } from './auth/key-ring.ts';
import type { OidcLogin } from './auth/oidc.ts';
import type { BatchStatusMessage } from './batch/batch-jobs.ts';
import type { BatchReportMessage } from './batch/batch-reports.ts';
import type { RevisionNotifier } from './data-planes/revision-notifier.ts';
import type { Database } from './db/schema.ts';
import type { ClientSecretVerifier } from './tokens/client-secret-verifier.ts';

/** What request handlers and services share inside one metadata plane. */
export interface MetadataPlaneContext {
  readonly db: Kysely<Database>;
  readonly keys: KeyRing;
  /** The token endpoint's secret checks, rate-limited and with bounded hashing. */
  readonly clientSecrets: ClientSecretVerifier;
  readonly notifier: RevisionNotifier;
  readonly objectStore: ObjectStore;
  readonly mode: 'embedded' | 'production';
  /** Public URL of this API server: the JWT issuer and `api_server` in token responses. */
  readonly apiServer: string;
  readonly registrationToken: string;
  /** Injected clock. */
  readonly now: () => Date;
  /** Aborted on shutdown, releasing long polls. */
  readonly shutdown: AbortSignal;
  /** Puts a data plane's heartbeat on the `heartbeat` queue. */
  readonly heartbeats: { send(dataPlaneId: string, instanceId: string | null): Promise<void> };
  /** Status updates of data planes' long-running work, onto the `batch-status` queue. */
  readonly batchStatus: { send(message: BatchStatusMessage): Promise<void> };
  /** Final reports of data planes' finished work, onto the `batch-report` queue. */
  readonly batchReports: { send(message: BatchReportMessage): Promise<void> };
  /** A data plane without a heartbeat for this long is reported unhealthy. */
  readonly heartbeatTimeoutMs: number;
  readonly oidc: OidcLogin;
  /** Seals secrets the metadata plane itself must open (alert route targets) in AES-256-GCM envelopes. */
  readonly keyEncryption: KeyEncryptionKeyProvider;
}
