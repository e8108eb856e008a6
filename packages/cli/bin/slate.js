#!/usr/bin/env node
// The `slate` command. Plain JS so it runs without a build: registers tsx, then runs the TypeScript source.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/main.ts');
process.exitCode = await runCli(process.argv);
