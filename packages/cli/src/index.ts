// The CLI is a command (`bin/slate.js`), not a library: this entry exports only what the workspace's
// benchmarks import (bench/startup.ts times a bundle and reads a project's config).
export { bundleProject } from './deploy/build-deployment.ts';
export { readProjectConfig } from './project-config.ts';
