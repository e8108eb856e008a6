import { SlateError } from '@slate/graph';
import { type Kysely, type Migration, type MigrationResultSet, Migrator } from 'kysely';
import * as initial from './migrations/0001-initial.ts';
import * as accessSecretsUsage from './migrations/0002-access-secrets-usage.ts';
import * as auditTeams from './migrations/0003-audit-teams.ts';
import * as batchJobs from './migrations/0004-batch-jobs.ts';
import * as batchReports from './migrations/0005-batch-reports.ts';
import * as schedules from './migrations/0006-schedules.ts';
import * as dataPlaneInstances from './migrations/0007-data-plane-instances.ts';
import * as signingKeyEnvelopes from './migrations/0008-signing-key-envelopes.ts';
import * as deploymentGraphAsJson from './migrations/0009-deployment-graph-as-json.ts';
import * as deploymentApplyMarks from './migrations/0010-deployment-apply-marks.ts';
import * as metricRollups from './migrations/0011-metric-rollups.ts';
import * as alerts from './migrations/0012-alerts.ts';
import * as deviceAuthorizations from './migrations/0013-device-authorizations.ts';
import * as modelsRegistry from './migrations/0014-models-registry.ts';
import type { Database } from './schema.ts';

/** Every migration, in order. Names are the file names; add new ones at the end, never edit old ones. */
const migrations: Readonly<Record<string, Migration>> = {
  '0001-initial': initial,
  '0002-access-secrets-usage': accessSecretsUsage,
  '0003-audit-teams': auditTeams,
  '0004-batch-jobs': batchJobs,
  '0005-batch-reports': batchReports,
  '0006-schedules': schedules,
  '0007-data-plane-instances': dataPlaneInstances,
  '0008-signing-key-envelopes': signingKeyEnvelopes,
  '0009-deployment-graph-as-json': deploymentGraphAsJson,
  '0010-deployment-apply-marks': deploymentApplyMarks,
  '0011-metric-rollups': metricRollups,
  '0012-alerts': alerts,
  '0013-device-authorizations': deviceAuthorizations,
  '0014-models-registry': modelsRegistry,
};

/**
 * Applies every pending migration. Safe to call from several processes at once: Kysely's `Migrator` on
 * PostgreSQL takes a session-level `pg_advisory_lock` on a dedicated connection around the whole run,
 * so concurrent callers queue and the later ones find nothing left to do.
 *
 * @throws SlateError('unavailable', 'MIGRATION_FAILED') when a migration fails (the transaction is
 *   rolled back, so the schema stays at the last good version).
 * @example
 * await migrateToLatest(db);
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    throw new SlateError(
      'unavailable',
      'MIGRATION_FAILED',
      `database migration failed: ${errorText(result.error)}`,
      undefined,
      {
        cause: result.error,
      },
    );
  }
  return result;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
