import { z } from 'zod';

/** Answer of `POST /v1/upload_features/multi` (chalk.md §3.6). */
export const UploadResponseSchema = z.looseObject({
  operation_id: z.string(),
  errors: z.array(z.unknown()).nullish(),
});
export type UploadFeaturesResponse = z.infer<typeof UploadResponseSchema>;

/** What `deleteFeatures` removes. */
export interface DeleteFeaturesRequest {
  /** The feature class, e.g. `user`. */
  readonly namespace: string;
  /** Features (FQNs or names) to delete; default all of the namespace's. */
  readonly features?: readonly string[];
  readonly tags?: readonly string[];
  readonly primaryKeys: readonly (string | number)[];
  /** Keep the online values (default false). */
  readonly retainOnline?: boolean;
  /** Keep the offline values (default false). */
  readonly retainOffline?: boolean;
}

/** What `dropFeatures` removes: every value of some features (or of a whole namespace). */
export interface DropFeaturesRequest {
  /** Features, as FQNs (or names in `namespace`). */
  readonly features?: readonly string[];
  /** Every scalar feature of this namespace, when `features` is not given. */
  readonly namespace?: string;
  /** Keep the online values (default false). */
  readonly retainOnline?: boolean;
  /** Keep the offline values (default false). */
  readonly retainOffline?: boolean;
}

/** Answer of `POST /v1/features/drop`. */
export const DropResponseSchema = z.looseObject({
  /** The features dropped (FQNs). */
  features: z.array(z.string()),
  online: z.boolean(),
  /** Whether the offline store was reached (false: retained, or no offline store on that data plane). */
  offline: z.boolean(),
  offline_rows: z.number().nullable(),
  errors: z.array(z.unknown()).nullish(),
});
export type DropFeaturesResponse = z.infer<typeof DropResponseSchema>;

export const DeleteResponseSchema = z.looseObject({ errors: z.array(z.unknown()).nullish() });
export type DeleteFeaturesResponse = z.infer<typeof DeleteResponseSchema>;

/** Answer of `GET /v1/environment/graph` (chalk.md §3.9). */
export const EnvironmentGraphSchema = z.looseObject({
  deployment_id: z.string(),
  features: z.array(
    z.looseObject({
      fqn: z.string(),
      name: z.string(),
      tags: z.array(z.string()).nullish(),
      etl_offline_to_online: z.boolean().nullish(),
    }),
  ),
  resolvers: z.array(
    z.looseObject({
      fqn: z.string(),
      execution_kind: z.string(),
      tags: z.array(z.string()).nullish(),
      feature_inputs: z.array(z.string()),
      feature_outputs: z.array(z.string()),
      cron: z.string().nullish(),
    }),
  ),
});
export type EnvironmentGraph = z.infer<typeof EnvironmentGraphSchema>;
