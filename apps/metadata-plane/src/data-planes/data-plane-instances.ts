import { SlateError } from '@slate/graph';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import { newId, newSecret, sha256Hex } from '../ids.ts';
import { decodeCursor, type Page, type PageQuery, toPage } from '../pagination.ts';
import { X25519_PUBLIC_KEY } from '../secrets/sealed-box.ts';
import { assignUnassignedEnvironments } from './data-planes.ts';
import type { RevisionNotifier } from './revision-notifier.ts';

/** The roles a data-plane instance may run. */
export const DATA_PLANE_ROLES = ['query', 'persistence', 'streaming', 'jobs'] as const;
export type DataPlaneRole = (typeof DATA_PLANE_ROLES)[number];

/** The instance id a data plane that names none registers as (a single-replica data plane). */
export const DEFAULT_INSTANCE_ID = 'default';

export const RegisterDataPlaneSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -, at most 63 characters'),
  url: z.url(),
  /**
   * The data plane's X25519 public key (raw, base64url); secrets are sealed to it. Every instance of a
   * data plane holds the same (group) key: see docs/adr/0009-data-plane-replicas.md.
   */
  public_key: z
    .string()
    .regex(X25519_PUBLIC_KEY, 'a raw X25519 public key in base64url (43 characters)')
    .optional(),
  /** This replica's id within the data plane (a pod's name); default `default`. */
  instance_id: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
      'letters, digits, . _ -, at most 128 characters (it is also a bus consumer name)',
    )
    .default(DEFAULT_INSTANCE_ID),
  /** The roles this instance runs; default every role. */
  roles: z
    .array(z.enum(DATA_PLANE_ROLES))
    .min(1)
    .max(DATA_PLANE_ROLES.length)
    .default([...DATA_PLANE_ROLES]),
  /** The software version the instance runs, shown with its health. */
  version: z.string().max(100).optional(),
});
export type RegisterDataPlaneInput = z.input<typeof RegisterDataPlaneSchema>;

/** The identity of an authenticated data-plane instance. */
export interface DataPlaneIdentity {
  readonly id: string;
  readonly name: string;
  /** The instance the secret belongs to; null for a secret issued before instances existed. */
  readonly instance_id: string | null;
}

/** How registration decides whether a peer is alive (a live peer's key is not replaced). */
export interface RegistrationClock {
  readonly now: Date;
  readonly heartbeatTimeoutMs: number;
}

/**
 * Registers an instance of a data plane (creating the data plane by name on first use) and returns the
 * instance's own long-lived secret. Re-registering an instance rotates that instance's secret only: its
 * peers keep theirs, so replicas never lock each other out. The secret is stored as sha256 (it has 256
 * bits of entropy, so a slow hash would only slow every poll).
 *
 * Secrets are sealed once, to the data plane's public key, when they are written (the metadata plane
 * keeps no plaintext to re-seal), so every instance must hold the same key. A registration with another
 * key replaces the data plane's key only when no other instance is alive (the whole data plane was
 * re-keyed or replaced); otherwise it is refused.
 *
 * @throws SlateError conflict `DATA_PLANE_KEY_MISMATCH` when a live peer holds another public key.
 * @example
 * const { token } = await registerDataPlane(db, notifier, { name: 'east', url: 'http://east:4001', instance_id: 'east-0' }, { now: new Date(), heartbeatTimeoutMs: 60_000 });
 */
export async function registerDataPlane(
  db: Kysely<Database>,
  notifier: RevisionNotifier,
  input: RegisterDataPlaneInput,
  clock: RegistrationClock,
): Promise<{ data_plane_id: string; instance_id: string; token: string }> {
  const { name, url, public_key, instance_id, roles, version } = RegisterDataPlaneSchema.parse(input);
  const token = newSecret('dp-');
  const id = await db.transaction().execute(async (trx) => {
    // The group row is created once; its legacy secret is random and never handed out.
    await trx
      .insertInto('data_planes')
      .values({
        id: newId('dp', 12),
        name,
        url,
        token_hash: sha256Hex(newSecret('dp-')),
        public_key: public_key ?? null,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    // Locks the group so that two instances registering with different keys at once cannot both win.
    const plane = await trx
      .selectFrom('data_planes')
      .select(['id', 'public_key'])
      .where('name', '=', name)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (public_key && plane.public_key && plane.public_key !== public_key) {
      const since = new Date(clock.now.getTime() - clock.heartbeatTimeoutMs);
      const livePeer = await trx
        .selectFrom('data_plane_instances')
        .select('instance_id')
        .where('data_plane_id', '=', plane.id)
        .where('instance_id', '!=', instance_id)
        .where((eb) => eb.or([eb('last_heartbeat_at', '>=', since), eb('registered_at', '>=', since)]))
        .executeTakeFirst();
      if (livePeer) {
        throw new SlateError(
          'conflict',
          'DATA_PLANE_KEY_MISMATCH',
          `instance ${livePeer.instance_id} of data plane ${name} is alive with another public key: every replica must hold the group key (SLATE_DATA_PLANE_KEY_FILE)`,
          { data_plane: name, live_instance: livePeer.instance_id },
        );
      }
    }
    await trx
      .updateTable('data_planes')
      .set({
        url,
        ...(public_key && public_key !== plane.public_key ? { public_key } : {}),
        revision: sql`revision + 1`,
      })
      .where('id', '=', plane.id)
      .execute();
    await trx
      .insertInto('data_plane_instances')
      .values({
        data_plane_id: plane.id,
        instance_id,
        token_hash: sha256Hex(token),
        url,
        roles: JSON.stringify(roles),
        version: version ?? null,
        public_key: public_key ?? null,
        registered_at: clock.now,
      })
      .onConflict((oc) =>
        oc.columns(['data_plane_id', 'instance_id']).doUpdateSet({
          token_hash: (eb) => eb.ref('excluded.token_hash'),
          url: (eb) => eb.ref('excluded.url'),
          roles: (eb) => eb.ref('excluded.roles'),
          version: (eb) => eb.ref('excluded.version'),
          public_key: (eb) => eb.ref('excluded.public_key'),
          registered_at: (eb) => eb.ref('excluded.registered_at'),
        }),
      )
      .execute();
    return plane.id;
  });
  await assignUnassignedEnvironments(db, notifier);
  notifier.notify(id);
  return { data_plane_id: id, instance_id, token };
}

/**
 * The data-plane instance a bearer secret belongs to (or, for a secret issued before instances existed,
 * the data plane alone).
 * @throws SlateError('authentication', 'INVALID_DATA_PLANE_TOKEN')
 */
export async function authenticateDataPlane(db: Kysely<Database>, token: string): Promise<DataPlaneIdentity> {
  const hash = sha256Hex(token);
  const instance = await db
    .selectFrom('data_plane_instances')
    .innerJoin('data_planes', 'data_planes.id', 'data_plane_instances.data_plane_id')
    .select(['data_planes.id', 'data_planes.name', 'data_plane_instances.instance_id'])
    .where('data_plane_instances.token_hash', '=', hash)
    .executeTakeFirst();
  if (instance) return instance;
  const legacy = await db
    .selectFrom('data_planes')
    .select(['id', 'name'])
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  if (!legacy)
    throw new SlateError('authentication', 'INVALID_DATA_PLANE_TOKEN', 'the data-plane token is invalid');
  return { ...legacy, instance_id: null };
}

/** A heartbeat as it travels over the `heartbeat` queue. */
export interface HeartbeatMessage {
  readonly [key: string]: unknown;
  readonly data_plane_id: string;
  /** The instance that sent it; absent in messages queued before instances existed. */
  readonly instance_id?: string | null;
  /** When the data plane (or the API on its behalf) observed it alive, ISO 8601. */
  readonly at: string;
}

/**
 * Applies a heartbeat to the data plane and to its instance: moves `last_heartbeat_at` forward only
 * (queues may deliver out of order).
 */
export async function recordHeartbeat(db: Kysely<Database>, heartbeat: HeartbeatMessage): Promise<void> {
  const at = new Date(heartbeat.at);
  if (Number.isNaN(at.getTime())) return;
  await db
    .updateTable('data_planes')
    .set({ last_heartbeat_at: at })
    .where('id', '=', heartbeat.data_plane_id)
    .where((eb) => eb.or([eb('last_heartbeat_at', 'is', null), eb('last_heartbeat_at', '<', at)]))
    .execute();
  if (!heartbeat.instance_id) return;
  await db
    .updateTable('data_plane_instances')
    .set({ last_heartbeat_at: at })
    .where('data_plane_id', '=', heartbeat.data_plane_id)
    .where('instance_id', '=', heartbeat.instance_id)
    .where((eb) => eb.or([eb('last_heartbeat_at', 'is', null), eb('last_heartbeat_at', '<', at)]))
    .execute();
}

/** Keeps an instance's last status report (what it has loaded), written only when it changed. */
export async function recordInstanceStatus(
  db: Kysely<Database>,
  identity: DataPlaneIdentity,
  status: unknown,
): Promise<void> {
  if (!identity.instance_id) return;
  const text = JSON.stringify(status);
  await db
    .updateTable('data_plane_instances')
    .set({ status: text })
    .where('data_plane_id', '=', identity.id)
    .where('instance_id', '=', identity.instance_id)
    .where(sql<boolean>`status is distinct from ${text}::jsonb`)
    .execute();
}

/** One instance of a data plane, as `GET /v1/data-planes` shows it. */
export interface DataPlaneInstanceView {
  readonly instance_id: string;
  readonly url: string;
  readonly roles: string[];
  readonly version: string | null;
  readonly last_heartbeat_at: string | null;
  /** A heartbeat arrived within the timeout. */
  readonly healthy: boolean;
  /** environment id → the deployment this instance serves for it (null: none loaded yet). */
  readonly deployments: Record<string, string | null>;
  readonly registered_at: string;
}

/** `GET /v1/data-planes` item. */
export interface DataPlaneView {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly last_heartbeat_at: string | null;
  /** A heartbeat arrived within the timeout (from any instance). */
  readonly healthy: boolean;
  readonly environments: string[];
  readonly has_public_key: boolean;
  readonly created_at: string;
  /** Its instances, by id; instances quiet for more than a day are left out. */
  readonly instances: DataPlaneInstanceView[];
}

/** How long an instance that stopped heart-beating stays listed (a replaced pod is gone for good). */
export const INSTANCE_LISTED_FOR_MS = 24 * 60 * 60 * 1000;

const InstanceStatusSchema = z.object({
  environments: z.array(z.object({ id: z.string(), active_deployment_id: z.string().nullable() })),
});

/** Data planes by id, one page; healthy when the last heartbeat is at most `heartbeatTimeoutMs` old. */
export async function listDataPlanes(
  db: Kysely<Database>,
  now: Date,
  heartbeatTimeoutMs: number,
  page: PageQuery,
): Promise<Page<DataPlaneView>> {
  let q = db.selectFrom('data_planes').selectAll();
  if (page.cursor) q = q.where('id', '>', decodeCursor(page.cursor));
  const planes = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  const envs = await db
    .selectFrom('environments')
    .select(['id', 'data_plane_id'])
    .where('data_plane_id', 'is not', null)
    .orderBy('id')
    .execute();
  const listedSince = new Date(now.getTime() - INSTANCE_LISTED_FOR_MS);
  const instances =
    planes.length === 0
      ? []
      : await db
          .selectFrom('data_plane_instances')
          .selectAll()
          .where(
            'data_plane_id',
            'in',
            planes.map((p) => p.id),
          )
          .where((eb) =>
            eb.or([eb('last_heartbeat_at', '>=', listedSince), eb('registered_at', '>=', listedSince)]),
          )
          .orderBy('instance_id')
          .execute();
  const healthy = (at: Date | null) => at !== null && now.getTime() - at.getTime() <= heartbeatTimeoutMs;
  return toPage(
    planes,
    page.limit,
    (p) => p.id,
    (p) => ({
      id: p.id,
      name: p.name,
      url: p.url,
      last_heartbeat_at: p.last_heartbeat_at?.toISOString() ?? null,
      healthy: healthy(p.last_heartbeat_at),
      environments: envs.filter((e) => e.data_plane_id === p.id).map((e) => e.id),
      has_public_key: p.public_key !== null,
      created_at: p.created_at.toISOString(),
      instances: instances
        .filter((i) => i.data_plane_id === p.id)
        .map((i) => {
          const status = InstanceStatusSchema.safeParse(
            typeof i.status === 'string' ? JSON.parse(i.status) : i.status,
          );
          return {
            instance_id: i.instance_id,
            url: i.url,
            roles: (typeof i.roles === 'string' ? JSON.parse(i.roles) : i.roles) as string[],
            version: i.version,
            last_heartbeat_at: i.last_heartbeat_at?.toISOString() ?? null,
            healthy: healthy(i.last_heartbeat_at),
            deployments: Object.fromEntries(
              (status.success ? status.data.environments : []).map((e) => [e.id, e.active_deployment_id]),
            ),
            registered_at: i.registered_at.toISOString(),
          };
        }),
    }),
  );
}
