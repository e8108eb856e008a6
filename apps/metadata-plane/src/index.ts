export type { ErrorBody } from '@slate/http-edge';
export { type AuditEntry, type AuditFilter, AuditFilterSchema, type AuditView } from './audit/audit-log.ts';
export {
  createLocalKeyEncryptionKeyProvider,
  type KeyEncryptionKeyProvider,
  KeyEncryptionKeySchema,
  type WrappedKey,
} from './auth/key-encryption.ts';
export { keyEncryptionKeyFromEnv } from './auth/key-encryption-env.ts';
export { encryptSigningKeys, type KeyRing, loadKeyRing, TOKEN_AUDIENCE } from './auth/key-ring.ts';
export type { InviteView, MemberView } from './auth/members.ts';
export { googleProvider, type OidcLogin, type OidcProviderConfig, OidcProviderSchema } from './auth/oidc.ts';
export {
  PERMISSIONS,
  type Permission,
  permissionsOfRole,
  ROLE_PERMISSIONS,
  ROLES,
  type Role,
} from './auth/permissions.ts';
export type { Principal, ServiceTokenPrincipal, UserPrincipal } from './auth/principal.ts';
export type { RoleView } from './auth/roles.ts';
export type { EnvironmentView, ProjectView, TeamView } from './catalog/catalog.ts';
export { PROVISIONED_BUCKETS, type Provisioning, provisioningOf } from './catalog/catalog-admin.ts';
export {
  DATA_PLANE_ROLES,
  type DataPlaneIdentity,
  type DataPlaneInstanceView,
  type DataPlaneRole,
  type DataPlaneView,
  type HeartbeatMessage,
  type RegisterDataPlaneInput,
} from './data-planes/data-plane-instances.ts';
export type { LeaseRequest, LeaseView } from './data-planes/data-plane-leases.ts';
export type {
  DesiredDeployment,
  DesiredEnvironment,
  DesiredState,
  StatusReport,
  StatusReportResult,
} from './data-planes/data-planes.ts';
export {
  createDatabase,
  type DatabaseConfig,
  DatabaseConfigSchema,
  databaseUrlFromEnv,
  type MetadataDatabase,
} from './db/database.ts';
export { migrateToLatest } from './db/migrate.ts';
export type { Database } from './db/schema.ts';
export { DEPLOYMENT_STATUSES, type DeploymentStatus } from './deployments/deployment-status.ts';
export {
  bundleKey,
  type CreateDeploymentInput,
  type DeploymentRef,
  type DeploymentView,
  type GraphSummary,
} from './deployments/deployments.ts';
export { createLogger } from './logger.ts';
export {
  createMetadataPlane,
  type MetadataPlane,
  type MetadataPlaneConfig,
  MetadataPlaneConfigSchema,
  type MetadataPlaneServices,
} from './metadata-plane.ts';
export {
  METRIC_AGGREGATIONS,
  METRIC_NAMES,
  METRICS,
  type MetricAggregation,
  type MetricName,
} from './metrics/metric-catalog.ts';
export {
  createMetricStore,
  DEFAULT_METRIC_RETENTION,
  type MetricReportOutcome,
  type MetricRetention,
  type MetricStore,
  type SeriesQuery,
  SeriesQuerySchema,
  type SeriesResult,
} from './metrics/metric-store.ts';
export type { Page } from './pagination.ts';
export { SEALED_BOX_VERSION, sealToPublicKey, X25519_PUBLIC_KEY } from './secrets/sealed-box.ts';
export type { DesiredSecret, SecretView } from './secrets/secrets.ts';
export {
  applySeed,
  parseSeed,
  type Seed,
  type SeedInput,
  type SeedIssue,
  type SeedResult,
} from './seed/seed.ts';
/** The token-endpoint attack driver (the attack test and `bench/auth.ts`). */
export { latencySummary, runTokenAttack, type TokenAttackResult } from './testing/token-attack.ts';
export {
  type ClientSecretLimits,
  ClientSecretLimitsSchema,
} from './tokens/client-secret-verifier.ts';
export {
  ACCESS_TOKEN_TTL_SECONDS,
  type CreatedServiceToken,
  type CreateServiceTokenInput,
  type FeaturePermissions,
  FeaturePermissionsSchema,
  type ServiceTokenView,
  type TokenResponse,
} from './tokens/service-tokens.ts';
export { type UsageReport, UsageReportSchema, type UsageView } from './usage/usage.ts';
