#!/usr/bin/env node
// The `slate` command. Runs the compiled CLI (dist/cli/slate.js, from `npm run build`); runs the TypeScript
// sources through tsx instead when SLATE_CLI_FROM_SOURCE=1 (the test setup sets it, so tests see edits
// without a build) or when nothing is built yet.
import { existsSync } from 'node:fs';

const compiled = new URL('../../../dist/cli/slate.js', import.meta.url);
if (process.env.SLATE_CLI_FROM_SOURCE !== '1' && existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { runCli } = await import('../src/main.ts');
  process.exitCode = await runCli(process.argv);
}
