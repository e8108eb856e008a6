export {
  type CliContext,
  type ConnectionFlags,
  clientForCommand,
  printJson,
  printLine,
  processCliContext,
} from './cli-context.ts';
export { registerApply } from './commands/apply.ts';
export { formatDeployments, registerDeployments } from './commands/deployments.ts';
export { registerLint } from './commands/lint.ts';
export {
  formatQueryResult,
  parseInputValue,
  parsePairs,
  queryRequestFromFlags,
  registerQuery,
} from './commands/query.ts';
export { formatRunDetail, formatRuns, registerRuns } from './commands/runs.ts';
export { registerToken } from './commands/token.ts';
export { registerWhoAmI } from './commands/whoami.ts';
export {
  type ApplyDeploymentOptions,
  type ApplyDeploymentResult,
  applyDeployment,
  formatSize,
} from './deploy/apply-deployment.ts';
export {
  buildDeployment,
  bundleProject,
  type CollectedProject,
  collectProject,
  type DeploymentBuild,
  formatLintIssue,
} from './deploy/build-deployment.ts';
export { type GitState, readGitMetadata } from './deploy/git-metadata.ts';
export {
  canonicalJson,
  diffGraphs,
  diffHash,
  formatGraphDiff,
  type GraphDiff,
  isEmptyDiff,
  type NameChanges,
  type ScheduleChange,
} from './deploy/graph-diff.ts';
export {
  type DeploymentPlan,
  type DeploymentTarget,
  formatPlan,
  type PlanDeploymentOptions,
  planDeployment,
  planJson,
} from './deploy/plan-deployment.ts';
export { formatTable } from './format-table.ts';
export {
  CLI_VERSION,
  type CommandRegistration,
  commands,
  createProgram,
  exitCodeOf,
  formatError,
  runCli,
} from './main.ts';
export {
  type LoadedProjectConfig,
  PROJECT_CONFIG_FILE,
  type ProjectConfig,
  ProjectConfigSchema,
  parseProjectConfig,
  readProjectConfig,
} from './project-config.ts';
