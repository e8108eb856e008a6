import { randomBytes, randomInt } from 'node:crypto';
import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import { getEnvironment } from '../catalog/catalog.ts';
import type { Database } from '../db/schema.ts';
import { newId, sha256Hex } from '../ids.ts';
import { createServiceToken } from '../tokens/service-tokens.ts';
import { PERMISSIONS, type Permission } from './permissions.ts';
import { can, type UserPrincipal } from './principal.ts';

/** How long a device code and its user code are valid (RFC 8628 §3.2 `expires_in`). */
export const DEVICE_CODE_TTL_S = 600;
/** The polling interval a client starts with; `slow_down` adds 5 s (RFC 8628 §3.5). */
export const DEVICE_POLL_INTERVAL_S = 5;
/** Pending authorizations at once, installation-wide: past this, new ones get 503 (a flood sheds itself). */
export const MAX_PENDING_DEVICE_AUTHORIZATIONS = 10_000;

/** RFC 8628 §6.1: consonants only (no vowels, so no words), no easily confused letters. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/** A user code as typed: case and dashes/spaces ignored. */
export function normalizeUserCode(text: string): string {
  return text.toUpperCase().replace(/[\s-]/g, '');
}

const userCodeHash = (code: string) => sha256Hex(`user:${normalizeUserCode(code)}`);
const deviceCodeHash = (code: string) => sha256Hex(`device:${code}`);

/** What the device (the CLI) gets to start a login (RFC 8628 §3.2), minus the URLs the route adds. */
export interface StartedDeviceAuthorization {
  readonly deviceCode: string;
  /** `XXXX-XXXX`, 20⁸ ≈ 2.6·10¹⁰ codes. */
  readonly userCode: string;
  readonly expiresIn: number;
  readonly interval: number;
}

/**
 * Starts a device authorization: a 256-bit device code (the CLI's secret) and a short user code (typed or
 * approved in a signed-in browser). Only their hashes are stored; rows expired for a day are purged here.
 *
 * @throws SlateError `unavailable`/`TOO_MANY_DEVICE_AUTHORIZATIONS` past `MAX_PENDING_DEVICE_AUTHORIZATIONS`.
 */
export async function startDeviceAuthorization(
  db: Kysely<Database>,
  clientName: string,
  now: Date,
): Promise<StartedDeviceAuthorization> {
  await db
    .deleteFrom('device_authorizations')
    .where('expires_at', '<', new Date(now.getTime() - 86_400_000))
    .execute();
  const { pending } = await db
    .selectFrom('device_authorizations')
    .select((eb) => eb.fn.countAll<string>().as('pending'))
    .where('status', '=', 'pending')
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow();
  if (Number(pending) >= MAX_PENDING_DEVICE_AUTHORIZATIONS)
    throw new SlateError(
      'unavailable',
      'TOO_MANY_DEVICE_AUTHORIZATIONS',
      'too many logins are waiting for approval: retry in a minute',
      { retryAfterS: 60 },
    );
  const deviceCode = randomBytes(32).toString('base64url');
  const raw = Array.from({ length: 8 }, () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]).join(
    '',
  );
  const userCode = `${raw.slice(0, 4)}-${raw.slice(4)}`;
  await db
    .insertInto('device_authorizations')
    .values({
      id: newId('da'),
      device_code_hash: deviceCodeHash(deviceCode),
      user_code_hash: userCodeHash(userCode),
      client_name: clientName,
      status: 'pending',
      interval_s: DEVICE_POLL_INTERVAL_S,
      expires_at: new Date(now.getTime() + DEVICE_CODE_TTL_S * 1000),
    })
    .execute();
  return { deviceCode, userCode, expiresIn: DEVICE_CODE_TTL_S, interval: DEVICE_POLL_INTERVAL_S };
}

const notPending = () =>
  new SlateError(
    'not_found',
    'DEVICE_CODE_NOT_FOUND',
    'no login is waiting with this code: it may have expired (codes last 10 minutes) or been used; run `slate login` again',
  );

/** The pending authorization a user code names, for the approval page. @throws `DEVICE_CODE_NOT_FOUND`. */
export async function describeUserCode(
  db: Kysely<Database>,
  userCode: string,
  now: Date,
): Promise<{ clientName: string; expiresAt: Date }> {
  const row = await db
    .selectFrom('device_authorizations')
    .select(['client_name', 'expires_at'])
    .where('user_code_hash', '=', userCodeHash(userCode))
    .where('status', '=', 'pending')
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (!row) throw notPending();
  return { clientName: row.client_name, expiresAt: new Date(row.expires_at) };
}

/**
 * A signed-in user approves (or denies) the login a user code names, for one environment. The credentials
 * the device then receives hold exactly the permissions the user holds in that environment at approval.
 *
 * @throws SlateError `DEVICE_CODE_NOT_FOUND`; `not_allowed`/`PERMISSION_DENIED` when the user holds no
 * permission in the environment; `ENVIRONMENT_NOT_FOUND`.
 */
export async function decideDeviceAuthorization(
  db: Kysely<Database>,
  user: UserPrincipal,
  decision: { userCode: string; environmentId: string; approve: boolean },
  now: Date,
): Promise<{ permissions: Permission[] }> {
  const environment = await getEnvironment(db, decision.environmentId);
  const scope = { teamId: environment.team_id, environmentId: environment.id };
  const permissions = PERMISSIONS.filter((permission) => can(user, permission, scope));
  if (decision.approve && permissions.length === 0)
    throw new SlateError(
      'not_allowed',
      'PERMISSION_DENIED',
      `you hold no permission in environment ${environment.id}`,
    );
  const updated = await db
    .updateTable('device_authorizations')
    .set({
      status: decision.approve ? 'approved' : 'denied',
      user_id: user.id,
      environment_id: environment.id,
      permissions: JSON.stringify(permissions),
    })
    .where('user_code_hash', '=', userCodeHash(decision.userCode))
    .where('status', '=', 'pending')
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) throw notPending();
  return { permissions };
}

/** What the device receives once the login is approved: service-token credentials, handed out once. */
export interface DeviceCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly environmentId: string;
  readonly tokenId: string;
}

const pollError = (code: string, message: string) => new SlateError('input', code, message);

/**
 * The device polls with its device code (RFC 8628 §3.4–3.5). Until the user decides it gets
 * `AUTHORIZATION_PENDING`; polling faster than the interval gets `SLOW_DOWN` and a 5 s longer interval;
 * after expiry `EXPIRED_TOKEN`; a denial `ACCESS_DENIED`. Once approved, the first poll creates a service
 * token in the approved environment (named after the user and the device, revocable on the Tokens page)
 * and returns its secret — the only time it exists in clear; later polls get `INVALID_GRANT`.
 */
export async function pollDeviceAuthorization(
  db: Kysely<Database>,
  deviceCode: string,
  now: Date,
): Promise<DeviceCredentials> {
  const row = await db
    .selectFrom('device_authorizations')
    .selectAll()
    .where('device_code_hash', '=', deviceCodeHash(deviceCode))
    .executeTakeFirst();
  if (!row || row.status === 'consumed')
    throw pollError('INVALID_GRANT', 'this device code is unknown or was already used');
  if (new Date(row.expires_at).getTime() <= now.getTime())
    throw pollError('EXPIRED_TOKEN', 'the login expired before it was approved: run `slate login` again');
  if (row.status === 'denied')
    throw new SlateError('not_allowed', 'ACCESS_DENIED', 'the login was denied in the browser');
  if (row.status === 'pending') {
    const last = row.last_polled_at ? new Date(row.last_polled_at).getTime() : null;
    const tooSoon = last !== null && now.getTime() - last < row.interval_s * 1000;
    await db
      .updateTable('device_authorizations')
      .set({ last_polled_at: now, ...(tooSoon ? { interval_s: row.interval_s + 5 } : {}) })
      .where('id', '=', row.id)
      .execute();
    if (tooSoon)
      throw pollError('SLOW_DOWN', `polling too fast: wait ${row.interval_s + 5} s between attempts`);
    throw pollError('AUTHORIZATION_PENDING', 'waiting for the login to be approved in the browser');
  }
  // Approved: consumed by exactly one poll, even when two arrive at once.
  const claimed = await db
    .updateTable('device_authorizations')
    .set({ status: 'consumed' })
    .where('id', '=', row.id)
    .where('status', '=', 'approved')
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) === 0)
    throw pollError('INVALID_GRANT', 'this device code is unknown or was already used');
  const user = await db
    .selectFrom('users')
    .select(['email'])
    .where('id', '=', row.user_id!)
    .executeTakeFirst();
  const created = await createServiceToken(db, {
    environmentId: row.environment_id!,
    name: `slate login · ${user?.email ?? row.user_id} · ${row.client_name}`.slice(0, 200),
    permissions: row.permissions as Permission[],
  });
  return {
    clientId: created.clientId,
    clientSecret: created.clientSecret,
    environmentId: row.environment_id!,
    tokenId: created.id,
  };
}
