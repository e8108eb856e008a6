import type { Kysely } from 'kysely';

/**
 * Signing keys encrypted at rest (issue 11 item 8): the private JWK moves into an AES-256-GCM envelope
 * whose data key is wrapped by the key-encryption key. `private_jwk` stays, nullable, only so that clear
 * keys of older installations can be read once and encrypted at start (then it is set to null).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('signing_keys').addColumn('private_key_envelope', 'jsonb').execute();
  await db.schema
    .alterTable('signing_keys')
    .alterColumn('private_jwk', (c) => c.dropNotNull())
    .execute();
}
