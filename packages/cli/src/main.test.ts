import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SlateError } from '@slate/graph';
import { CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from './cli-context.ts';
import { exitCodeOf, formatError, runCli } from './main.ts';
import {
  createTempFeatureRepo,
  mixedNamespaceRepoFiles,
  type TempFeatureRepo,
  validRepoFiles,
} from './temp-feature-repo.ts';

/** A context that captures output and counts every HTTP request the command tries to make. */
function captureContext(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const requests: string[] = [];
  const context: CliContext = {
    cwd,
    env: { SLATE_CLIENT_ID: 'id', SLATE_CLIENT_SECRET: 'secret', SLATE_API_SERVER: 'http://127.0.0.1:9' },
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    fetch: async (input) => {
      requests.push(String(input));
      throw new TypeError('fetch failed');
    },
  };
  return { context, stdout: () => out.join(''), stderr: () => err.join(''), requests };
}

const binPath = fileURLToPath(new URL('../bin/slate.js', import.meta.url));
const slate = (...args: string[]) => ['node', 'slate', ...args];

describe('exit codes', () => {
  it.each([
    ['input', 2],
    ['authentication', 3],
    ['not_allowed', 3],
    ['not_found', 4],
    ['unavailable', 5],
    ['timeout', 5],
    ['conflict', 1],
    ['internal', 1],
  ] as const)('%s → %i', (kind, code) => {
    expect(exitCodeOf(new SlateError(kind, 'X', 'x'))).toBe(code);
  });

  it('treats usage errors as input, help as success, anything else as 1', () => {
    expect(exitCodeOf(new CommanderError(1, 'commander.unknownOption', 'bad'))).toBe(2);
    expect(exitCodeOf(new CommanderError(0, 'commander.helpDisplayed', ''))).toBe(0);
    expect(exitCodeOf(new Error('boom'))).toBe(1);
  });

  it('prints the code, the message and schema issues', () => {
    const error = new SlateError('input', 'INVALID_GRAPH', 'bad graph', {
      issues: [{ path: 'resolvers.0.fqn', message: 'Invalid string' }],
    });
    expect(formatError(error)).toBe('error[INVALID_GRAPH]: bad graph\n  - resolvers.0.fqn: Invalid string');
  });
});

describe('slate --version', () => {
  it("prints @slate/cli's package.json version and exits 0", async () => {
    const io = captureContext('/');
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(await runCli(slate('--version'), io.context)).toBe(0);
    expect(io.stdout()).toBe(`${version}\n`);
  });
});

describe('slate lint / apply on a repository with lint errors', () => {
  let repo: TempFeatureRepo;
  beforeAll(async () => {
    repo = await createTempFeatureRepo(mixedNamespaceRepoFiles);
  });
  afterAll(() => repo.remove());

  it('lint reports the issue and exits 2', async () => {
    const io = captureContext(repo.dir);
    expect(await runCli(slate('lint'), io.context)).toBe(2);
    expect(io.stdout()).toMatch(
      /src\/index\.ts:\d+: error: resolver holder_name mixes namespaces \('card\.holder' is not in 'user'\) \[MIXED_NAMESPACES\]/,
    );
    expect(io.stderr()).toMatch(/^error\[LINT_FAILED\]: 1 lint error/);
  });

  it('bin/slate.js lint names the file and line of the resolver', async () => {
    // A real process: source-mapped lines need tsx's own stack handling, which Vitest replaces.
    const result = spawnSync(process.execPath, [binPath, 'lint'], { cwd: repo.dir, encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stdout).toContain(
      "src/index.ts:4: error: resolver holder_name mixes namespaces ('card.holder' is not in 'user') [MIXED_NAMESPACES]",
    );
    expect(result.stderr).toBe('error[LINT_FAILED]: 1 lint error(s)\n');
  });

  it('apply stops with exit 2 before sending anything', async () => {
    const io = captureContext(repo.dir);
    expect(await runCli(slate('apply'), io.context)).toBe(2);
    expect(io.requests).toEqual([]);
    expect(io.stdout()).toContain('▸ collecting graph… 2 namespaces, 1 resolver');
    expect(io.stdout()).toContain('[MIXED_NAMESPACES]');
    expect(io.stdout()).not.toContain('bundling');
    expect(io.stderr()).toContain('error[LINT_FAILED]: 1 lint error; nothing was uploaded');
  });
});

describe('slate lint on a valid repository', () => {
  it('exits 0 with a summary, reading --dir relative to the working directory', async () => {
    const repo = await createTempFeatureRepo({
      ...Object.fromEntries(Object.entries(validRepoFiles).map(([path, text]) => [`nested/${path}`, text])),
    });
    try {
      const io = captureContext(repo.dir);
      expect(await runCli(slate('lint', '--dir', 'nested'), io.context)).toBe(0);
      expect(io.stdout()).toBe('✓ 1 namespaces, 2 features, 1 resolvers, 0 errors, 0 warnings\n');
    } finally {
      await repo.remove();
    }
  });

  it('names a missing slate.yaml (exit 2)', async () => {
    const repo = await createTempFeatureRepo({});
    try {
      const io = captureContext(repo.dir);
      expect(await runCli(slate('lint'), io.context)).toBe(2);
      expect(io.stderr()).toContain('error[NO_PROJECT_CONFIG]');
    } finally {
      await repo.remove();
    }
  });
});

describe('usage errors', () => {
  it('exit 2 for an unknown command or a malformed --in', async () => {
    const io = captureContext('/');
    expect(await runCli(slate('bogus'), io.context)).toBe(2);
    expect(io.stderr()).toContain("unknown command 'bogus'");
    expect(await runCli(slate('query', '--in', 'user.id', '--out', 'user.name'), io.context)).toBe(2);
    expect(io.stderr()).toContain('error[INVALID_INPUT]: --in user.id: expected <feature>=<value>');
    expect(io.requests).toEqual([]);
  });

  it('exit 5 when the metadata plane is unreachable', async () => {
    const io = captureContext('/');
    expect(await runCli(slate('whoami'), io.context)).toBe(5);
    expect(io.requests).toEqual(['http://127.0.0.1:9/v1/oauth/token']);
    expect(io.stderr()).toMatch(
      /^error\[UNREACHABLE\]: cannot reach http:\/\/127\.0\.0\.1:9\/v1\/oauth\/token/,
    );
  });
});
