/**
 * What end-to-end tests and process benches share: starting the planes as processes (compiled or from
 * their sources), `slate up` (`startSlateUp`), polling until something holds, services of their own,
 * signing in, a round-robin front.
 * Both planes in the test's own process: `./in-process-planes.ts` (imported on its own, as it loads both
 * planes' code).
 */
export { accessToken, createServiceToken, type ServiceToken, signIn } from './metadata-plane-session.ts';
export {
  type AppBuild,
  buildDist,
  createProcessGroup,
  GRPC_PORTS_OFF,
  type ProcessGroup,
  type ProcessGroupOptions,
  repoRoot,
  runCli,
  type StartedProcess,
  until,
} from './processes.ts';
export {
  createRoundRobinFront,
  type FrontOutcome,
  type FrontTarget,
  type RoundRobinFront,
} from './round-robin-front.ts';
export {
  adminQuery,
  createDatabase,
  type OwnDatabase,
  type OwnS3Server,
  s3Credentials,
  startS3Server,
} from './services.ts';
export { type SlateUpOptions, slateBin, startSlateUp } from './slate-up.ts';
