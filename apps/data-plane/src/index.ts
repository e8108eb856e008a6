export type { Principal } from './auth/principal.ts';
export { createTokenVerifier, type TokenVerifier } from './auth/token-verifier.ts';
export {
  type ControlPlaneClient,
  type DesiredState,
  DesiredStateSchema,
  registerDataPlane,
} from './control-plane/control-plane-client.ts';
export { createDataPlane, type DataPlane, type DataPlaneConfig } from './data-plane.ts';
export { ServedEnvironments } from './deployments/served-environments.ts';
export {
  createOnlineStoreFeatureWriter,
  type FeatureValueWrite,
  type FeatureWriter,
  type StoreTargets,
} from './http/feature-writer.ts';
export { OnlineQueryRequestSchema, type OnlineQueryResponse } from './http/online-query.ts';
export { createDataPlaneServer, type DataPlaneServerOptions } from './http/server.ts';
export { createDataPlaneMetrics, type DataPlaneMetrics } from './observability/data-plane-metrics.ts';
export { createMetricsServer } from './observability/metrics-server.ts';
