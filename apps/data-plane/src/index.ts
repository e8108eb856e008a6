export type { Principal } from './auth/principal.ts';
export { createTokenVerifier, type TokenVerifier } from './auth/token-verifier.ts';
export {
  type ControlPlaneClient,
  type DesiredState,
  DesiredStateSchema,
  registerDataPlane,
} from './control-plane/control-plane-client.ts';
export { createDataPlane, type DataPlane, type DataPlaneConfig } from './data-plane.ts';
export { OnlineQueryRequestSchema, type OnlineQueryResponse } from './http/online-query.ts';
