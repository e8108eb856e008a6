/**
 * The feature repository the forwarded-route and gRPC fuzzing deploys: the quickstart's `user` names (so
 * the data plane's fuzz seeds reach real features) with in-process resolvers, and an uploaded feature.
 */
import { features, float, int, online, string } from '@slate/sdk';

export const User = features('user', {
  id: int(),
  name: string().maxStaleness('infinity'),
  risk_score: float(),
  nickname: string().maxStaleness('infinity'),
});

export const get_user = online({
  inputs: { id: User.id },
  outputs: { name: User.name },
  fn: ({ id }) => ({ name: `user-${id}` }),
});

export const risk = online({
  inputs: { id: User.id },
  outputs: { risk_score: User.risk_score },
  fn: ({ id }) => ({ risk_score: (id % 100) / 100 }),
});
