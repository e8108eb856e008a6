import type { BucketName, ObjectStore } from '@slate/stores';
import type { DesiredEnvironment } from '../control-plane/control-plane-client.ts';

/** What the metadata plane asks a data plane to provision for one environment. */
export type Provisioning = NonNullable<DesiredEnvironment['provisioning']>;

/** Makes an environment's storage exist on this data plane; idempotent. Returns what is provisioned. */
export type EnvironmentProvisioner = (
  environmentId: string,
  provisioning: Provisioning,
) => Promise<Provisioning>;

/** Name of the marker object that makes an environment's prefix exist in a bucket. */
export const ENVIRONMENT_MARKER = '.slate-environment';

/**
 * Provisions by re-reading what exists: each bucket's prefix gets a marker object (object stores have no
 * folders; writing it also proves this data plane can write there) unless one is already present. The
 * online-store namespace needs no creation: online keys are scoped by environment id, which is the
 * namespace the metadata plane assigns.
 *
 * @example
 * const provision = createEnvironmentProvisioner({ objectStore });
 * await provision('prod', desired.provisioning);
 */
export function createEnvironmentProvisioner(options: { objectStore: ObjectStore }): EnvironmentProvisioner {
  return async (environmentId, provisioning) => {
    for (const [bucket, prefix] of Object.entries(provisioning.object_prefixes)) {
      const key = `${prefix}${ENVIRONMENT_MARKER}`;
      if (await options.objectStore.head(bucket as BucketName, key)) continue;
      await options.objectStore.put(
        bucket as BucketName,
        key,
        JSON.stringify({ environment_id: environmentId }),
        {
          contentType: 'application/json',
        },
      );
    }
    return provisioning;
  };
}
