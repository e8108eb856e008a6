/** The feature repository the API-host forwarding tests deploy: a computed, an uploaded and a slow feature. */
import { features, int, online, string } from '@slate/sdk';

export const Account = features('account', {
  id: int(),
  doubled: int(),
  note: string().maxStaleness('infinity'),
  slow: int(),
});

export const doubled = online({
  inputs: { id: Account.id },
  outputs: { doubled: Account.doubled },
  fn: ({ id }) => ({ doubled: id * 2 }),
});

export const note = online({
  inputs: { id: Account.id },
  outputs: { note: Account.note },
  fn: ({ id }) => ({ note: `computed-${id}` }),
});

export const slow = online({
  inputs: { id: Account.id },
  outputs: { slow: Account.slow },
  fn: async ({ id }) => {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    return { slow: id };
  },
});
