import type { FeaturePermissions } from './feature-permissions.ts';

/** Who a verified access token speaks for. */
export interface Principal {
  /** The token's subject: a service token id or a user id. */
  readonly subject: string;
  readonly clientId?: string;
  readonly kind: 'service_token' | 'user';
  /** The environment the token is scoped to. */
  readonly environment: string;
  readonly team?: string;
  readonly project?: string;
  readonly permissions: readonly string[];
  /** Feature-level rules by tag, when the token carries them. */
  readonly featurePermissions?: FeaturePermissions;
}
