/**
 * Fuzzes lint's collection over broken repositories: whatever the mistake in the feature repository, it is
 * reported as a SlateError of kind `input` with a code (or as lint findings), never as an internal error.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlateError } from '@slate/graph';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectProject } from '../deploy/build-deployment.ts';
import { createTempFeatureRepo, type TempFeatureRepo } from '../temp-feature-repo.ts';

const fields = ['id', 'email', 'domain'];
const source = (reference: string) =>
  [
    "import { features, int, online, string } from '@slate/sdk';",
    "export const User = features('user', { id: int(), email: string(), domain: string() });",
    'export const get_domain = online({',
    `  inputs: { email: ${reference} },`,
    '  outputs: { domain: User.domain },',
    "  fn: ({ email }) => ({ domain: String(email).split('@')[1] ?? '' }),",
    '});',
    '',
  ].join('\n');

/** Collects the repository after writing `text` as its entry: the error, or undefined on success. */
async function collectError(repo: TempFeatureRepo, text: string): Promise<unknown> {
  await writeFile(join(repo.dir, 'src/index.ts'), text);
  try {
    await collectProject(repo.dir, { typeCheck: false });
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('lint over fuzzed broken repositories', () => {
  let repo: TempFeatureRepo;
  beforeAll(async () => {
    repo = await createTempFeatureRepo({
      'slate.yaml': 'project: fuzz\nentry: src/index.ts\n',
      'src/index.ts': source('User.email'),
    });
  });
  afterAll(() => repo.remove());

  it('a reference to any feature the class lacks is UNKNOWN_FEATURE naming it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/).filter((name) => !fields.includes(name)),
        async (name) => {
          const error = await collectError(repo, source(`User.${name}`));
          // `then`-like names the SDK lets through still end as a resolver input that is no feature.
          expect(error).toBeInstanceOf(SlateError);
          expect((error as SlateError).kind).toBe('input');
          expect(['UNKNOWN_FEATURE', 'INVALID_RESOLVER']).toContain((error as SlateError).code);
          if ((error as SlateError).code === 'UNKNOWN_FEATURE')
            expect((error as SlateError).message).toContain(`has no feature '${name}'`);
        },
      ),
      { numRuns: 30 },
    );
  }, 120_000);

  it('deleting any one character gives success or an input error, never internal', async () => {
    const valid = source('User.email');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: valid.length - 1 }), async (at) => {
        const error = await collectError(repo, valid.slice(0, at) + valid.slice(at + 1));
        if (error === undefined) return;
        expect(error).toBeInstanceOf(SlateError);
        expect((error as SlateError).kind).toBe('input');
        expect((error as SlateError).code).toMatch(/^[A-Z_]+$/);
      }),
      { numRuns: 60 },
    );
  }, 180_000);
});
