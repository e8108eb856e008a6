// The CLI is a command (`bin/slate.js`), not a library: this entry exports only what the workspace's
// benchmarks import (bench/startup.ts times a bundle and reads a project's config).

// The end-to-end suites drive the CLI in process (the device-code login in a real browser).
export type { CliContext } from './cli-context.ts';
export { bundleProject } from './deploy/build-deployment.ts';
export { runCli } from './main.ts';
export { readProjectConfig } from './project-config.ts';
