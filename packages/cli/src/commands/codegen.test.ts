/**
 * `slate codegen` against the real platform in this process serving the quickstart: the generated module
 * type-checks with code that uses it (and refuses misuse), and its typed `queryOnline` answers real values.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../../../examples/quickstart/src/sample-data.ts';
import { interfaceName } from '../codegen/typed-client.ts';
import { type QuickstartPlatform, startQuickstartPlatform } from './fixtures/quickstart-platform.ts';
import { runSlate } from './fixtures/run-slate.ts';

let qs: QuickstartPlatform;
let gen: string;

beforeAll(async () => {
  qs = await startQuickstartPlatform('slate-codegen-cli-');
  gen = join(qs.work, 'gen');
  mkdirSync(gen);
  writeFileSync(join(gen, 'package.json'), '{ "type": "module" }\n');
}, 180_000);
afterAll(async () => {
  await qs?.close();
});

/** Code a user writes against the generated module; each `@ts-expect-error` must be a real error. */
const usage = `import type { SlateClient } from '@slate/client';
import { type Features, queryOnline, type Transaction } from './features.ts';

export async function use(client: SlateClient) {
  const { values, errors } = await queryOnline(client, { 'user.id': 1 }, ['user.name', 'user.risk_score', 'user.plan']);
  const name: string | null = values['user.name'];
  const score: number | null = values['user.risk_score'];
  const plan: string | null = values['user.plan'];
  // @ts-expect-error not an output of this query
  values['user.email'];
  // @ts-expect-error no such feature
  await queryOnline(client, { 'user.id': 1 }, ['user.nmae']);
  // @ts-expect-error user.id is a number
  await queryOnline(client, { 'user.id': 'one' }, ['user.name']);
  // @ts-expect-error user.name is a string
  const wrong: number | null = values['user.name'];
  const amount: Transaction['amount'] = 1.5;
  const at: Features['transaction.at'] = '2026-01-01T00:00:00Z';
  const windowed: Features['user.num_page_views__3600__'] = 3;
  return { name, score, plan, errors, wrong, amount, at, windowed };
}
`;

describe('slate codegen', () => {
  it('writes the module from the active deployment; it type-checks and refuses misuse', async () => {
    const run = await runSlate(qs.platform, qs.work, 'codegen', '--out', 'gen/features.ts', '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ namespaces: 2, file: join(gen, 'features.ts') });
    writeFileSync(join(gen, 'use.ts'), usage);
    const program = ts.createProgram([join(gen, 'use.ts')], {
      target: ts.ScriptTarget.ES2023,
      lib: ['lib.es2023.d.ts'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      allowImportingTsExtensions: true,
      noEmit: true,
      strict: true,
      skipLibCheck: true,
      types: ['node'],
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file?.fileName.startsWith(gen))
      .map((diagnostic) => {
        const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        return `${diagnostic.file!.fileName}:${line + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
      });
    expect(problems).toEqual([]);
  }, 120_000);

  it('queries through the typed function: the values are the sample rows', async () => {
    const generated = (await import(join(gen, 'features.ts'))) as {
      queryOnline: (
        client: unknown,
        inputs: Record<string, unknown>,
        outputs: readonly string[],
      ) => Promise<{ values: Record<string, unknown>; errors: readonly unknown[] }>;
    };
    const { values, errors } = await generated.queryOnline(qs.platform.client, { 'user.id': users[0].id }, [
      'user.name',
      'user.email',
    ]);
    expect(errors).toEqual([]);
    expect(values).toEqual({ 'user.name': users[0].name, 'user.email': users[0].email });
  }, 60_000);

  it('refuses an environment with no deployment, and names classes as TypeScript does', async () => {
    expect(interfaceName('user_profile')).toBe('UserProfile');
    const empty = await runSlate(
      qs.platform,
      qs.work,
      'codegen',
      '--environment',
      'nope',
      '--out',
      'gen/x.ts',
    );
    expect(empty.code).not.toBe(0);
  });
});
