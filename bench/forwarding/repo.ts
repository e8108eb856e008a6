/** The feature repository `bench/forwarding.ts` deploys: one cheap resolver, so the HTTP path dominates. */
import { features, int, online } from '@slate/sdk';

export const Account = features('account', { id: int(), doubled: int() });

export const doubled = online({
  inputs: { id: Account.id },
  outputs: { doubled: Account.doubled },
  fn: ({ id }) => ({ doubled: id * 2 }),
});
