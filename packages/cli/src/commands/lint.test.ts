import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTempFeatureRepo } from '../temp-feature-repo.ts';

const binPath = fileURLToPath(new URL('../../bin/slate.js', import.meta.url));

/** A one-file repository whose `src/index.ts` is `lines`. */
const repoOf = (lines: readonly string[]) => ({
  'slate.yaml': 'project: broken\nentry: src/index.ts\n',
  'src/index.ts': `${lines.join('\n')}\n`,
});

const header = [
  "import { features, int, online, string } from '@slate/sdk';",
  "export const User = features('user', { id: int(), email: string(), domain: string() });",
  "export const Card = features('card', { id: int(), holder: string() });",
];

/**
 * Runs `slate lint` as a real process (tsx's source-mapped stacks give the lines) in a repository: the graph
 * lint only (the type check has its own tests in deploy/type-check.test.ts).
 */
async function lint(files: Readonly<Record<string, string>>) {
  const repo = await createTempFeatureRepo(files);
  try {
    const result = spawnSync(process.execPath, [binPath, 'lint', '--no-typecheck'], {
      cwd: repo.dir,
      encoding: 'utf8',
      env: { ...process.env, SLATE_CLI_FROM_SOURCE: '1' },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, dir: repo.dir };
  } finally {
    await repo.remove();
  }
}

/** Never INTERNAL, never a stack, never an absolute path into the temp directory. */
function expectUserError(result: { stderr: string; stdout: string; dir: string }) {
  expect(result.stderr).not.toContain('INTERNAL');
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr + result.stdout).not.toContain(result.dir);
}

describe('slate lint over broken repositories', () => {
  it('a misspelled feature: UNKNOWN_FEATURE at file:line:col with a did-you-mean', async () => {
    const result = await lint(
      repoOf([
        ...header,
        'export const get_domain = online({',
        '  inputs: { email: User.emial },',
        '  outputs: { domain: User.domain },',
        "  fn: ({ email }) => ({ domain: email.split('@')[1] ?? '' }),",
        '});',
      ]),
    );
    expect(result.status).toBe(2);
    // Line 5, column of `emial` in `  inputs: { email: User.emial },`.
    const column = '  inputs: { email: User.emial },'.indexOf('emial') + 1;
    expect(result.stderr).toBe(
      `error[UNKNOWN_FEATURE]: src/index.ts:5:${column}: feature class 'user' has no feature 'emial' ` +
        "(did you mean 'email'?)\n",
    );
    expectUserError(result);
  }, 60_000);

  it('a misspelling with nothing close: no did-you-mean', async () => {
    const result = await lint(
      repoOf([
        ...header,
        'export const r = online({',
        '  inputs: { email: User.zzzzzzzz },',
        '  outputs: { domain: User.domain },',
        "  fn: () => ({ domain: '' }),",
        '});',
      ]),
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^error\[UNKNOWN_FEATURE\]: src\/index\.ts:5:\d+: feature class 'user' has no feature 'zzzzzzzz'\n$/,
    );
    expectUserError(result);
  }, 60_000);

  it('a string where a feature belongs: INVALID_RESOLVER at the resolver', async () => {
    const result = await lint(
      repoOf([
        ...header,
        'export const r = online({',
        "  inputs: { email: 'user.email' },",
        '  outputs: { domain: User.domain },',
        "  fn: () => ({ domain: '' }),",
        '});',
      ]),
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      "error[INVALID_RESOLVER]: src/index.ts:4: input 'email' is not a feature reference (got string)",
    );
    expectUserError(result);
  }, 60_000);

  it('an input from another namespace: MIXED_NAMESPACES at the resolver', async () => {
    const result = await lint(
      repoOf([
        ...header,
        'export const holder = online({',
        '  inputs: { email: User.email },',
        '  outputs: { holder: Card.holder },',
        '  fn: ({ email }) => ({ holder: email }),',
        '});',
      ]),
    );
    expect(result.status).toBe(2);
    expect(result.stdout).toContain(
      "src/index.ts:4: error: resolver holder mixes namespaces ('card.holder' is not in 'user') [MIXED_NAMESPACES]",
    );
    expect(result.stderr).toBe('error[LINT_FAILED]: 1 lint error(s)\n');
    expectUserError(result);
  }, 60_000);

  it('a syntax error: ENTRY_LOAD_FAILED with file:line:col', async () => {
    const result = await lint(
      repoOf([
        ...header,
        'export const r = online({',
        '  inputs: { email: User.email,',
        '  outputs: { domain: User.domain },',
        "  fn: () => ({ domain: '' }),",
        '});',
      ]),
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error\[ENTRY_LOAD_FAILED\]: cannot load src\/index\.ts: /);
    expect(result.stderr).toContain('src/index.ts:8:1: ERROR: Expected "}" but found ")"');
    expectUserError(result);
  }, 60_000);
});
