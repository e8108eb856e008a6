import { z } from 'zod';
import { type Secret, SecretSchema } from './admin-api.ts';
import { environmentIdOf } from './catalog-api.ts';
import type { CallOptions, SlateClient } from './slate-client.ts';

const SecretListSchema = z.looseObject({ items: z.array(SecretSchema) });
const DeletedSchema = z.looseObject({ ok: z.boolean() });

/** Options of the secrets calls: the environment (default the client's). */
export interface SecretCallOptions extends CallOptions {
  readonly environmentId?: string;
}

const secretsPath = async (client: SlateClient, options: SecretCallOptions, name?: string) => {
  const id = options.environmentId ?? (await environmentIdOf(client, options));
  return `/v1/environments/${encodeURIComponent(id)}/secrets${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
};

/**
 * `PUT /v1/environments/:id/secrets/:name`: sets a secret (sealed to the environment's data plane; the API
 * never returns it). Needs `secrets.write`.
 * @throws SlateError `input` (bad name, value over 64 KiB), `not_allowed`.
 * @example
 * await setSecret(client, 'PG_PASSWORD', process.env.PG_PASSWORD ?? '');
 */
export async function setSecret(
  client: SlateClient,
  name: string,
  value: string,
  options: SecretCallOptions = {},
): Promise<Secret> {
  return client.request({
    method: 'PUT',
    target: 'api',
    path: await secretsPath(client, options, name),
    body: { value },
    schema: SecretSchema,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** `GET /v1/environments/:id/secrets`: names and update times, never values. Needs `secrets.list`. */
export async function listSecrets(client: SlateClient, options: SecretCallOptions = {}): Promise<Secret[]> {
  const answer = await client.request({
    method: 'GET',
    target: 'api',
    path: await secretsPath(client, options),
    schema: SecretListSchema,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return answer.items;
}

/** `DELETE /v1/environments/:id/secrets/:name`. Needs `secrets.write`. @throws SlateError `not_found`. */
export async function deleteSecret(
  client: SlateClient,
  name: string,
  options: SecretCallOptions = {},
): Promise<void> {
  await client.request({
    method: 'DELETE',
    target: 'api',
    path: await secretsPath(client, options, name),
    schema: DeletedSchema,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
