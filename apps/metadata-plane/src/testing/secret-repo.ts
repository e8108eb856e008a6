/** A feature repository whose resolver reads an environment secret (for the secrets end-to-end test). */
import { features, int, online, string } from '@slate/sdk';

export const Vault = features('vault', {
  id: int(),
  api_key: string(),
  missing: string(),
});

export const read_api_key = online({
  inputs: { id: Vault.id },
  outputs: { api_key: Vault.api_key },
  fn: (_row, context) => ({ api_key: context.secret('API_KEY') ?? 'unset' }),
});

export const read_missing = online({
  inputs: { id: Vault.id },
  outputs: { missing: Vault.missing },
  fn: (_row, context) => ({ missing: context.secret('NOT_SET') ?? 'unset' }),
});
