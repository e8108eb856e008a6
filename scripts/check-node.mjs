#!/usr/bin/env node
// `npm start` runs this first (`prestart`): on a Node.js outside the root package.json's `engines.node` it
// prints one line saying which versions run Slate and exits 1, before the build fails in a less clear way.
// Plain JavaScript with no dependency and no syntax newer than Node 12, so it runs on any Node that can be
// told it is too old. The policy is in docs/adr/0006-node-version-policy.md.
//
//   node scripts/check-node.mjs [version]   (version defaults to the running Node's; tests pass one)
import { readFileSync } from 'node:fs';

const range = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node;
const version = (process.argv[2] || process.versions.node).replace(/^v/, '');

/** `[major, minor, patch]` of `20.19.0`, missing parts as 0. */
const parts = (text) => {
  const numbers = text.split('.').map((part) => Number.parseInt(part, 10) || 0);
  return [numbers[0] || 0, numbers[1] || 0, numbers[2] || 0];
};
const atLeast = (have, want) => {
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i] > want[i];
  return true;
};

// engines.node is `>=X.Y[.Z]`; any other form is a mistake in package.json, reported as such.
const minimum = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(range.trim());
if (!minimum) {
  console.error(`package.json engines.node is "${range}"; this check understands only ">=X.Y.Z"`);
  process.exit(1);
}
if (!atLeast(parts(version), parts(minimum[1]))) {
  console.error(
    `Slate needs Node.js ${minimum[1]} or newer (Node 22 LTS in production); this is Node ${version}. ` +
      'Install a newer Node (for example with nvm: `nvm install 22`) and run `npm ci && npm start` again.',
  );
  process.exit(1);
}
