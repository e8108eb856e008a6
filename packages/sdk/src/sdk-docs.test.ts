import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lintGraph } from '@slate/graph';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { collectGraph } from './collect-graph.ts';

/**
 * docs/sdk.md's examples are one program: every `ts` block, in order, with their imports merged. It must
 * type-check under the repository's compiler settings, and (without the blocks that are tests themselves)
 * load and deploy: `collectGraph` accepts its exports and the graph linter finds no error.
 */
const root = fileURLToPath(new URL('../../..', import.meta.url));
const sdkEntry = join(root, 'packages/sdk/src/index.ts');
const markdown = readFileSync(join(root, 'docs/sdk.md'), 'utf8');
const blocks = [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
const dir = mkdtempSync(join(tmpdir(), 'slate-sdk-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Joins blocks into one module: imports merged per module (named specifiers unioned), bodies in order. */
function program(parts: readonly string[]): string {
  const named = new Map<string, Set<string>>();
  const defaults = new Map<string, string>();
  const bodies: string[] = [];
  for (const part of parts) {
    const body = part.replace(
      /^import\s+([\s\S]+?)\s+from\s+'([^']+)';\n/gm,
      (_, clause: string, from: string) => {
        const module = from === '@slate/sdk' ? sdkEntry : from;
        const braces = /\{([\s\S]*)\}/.exec(clause);
        if (braces) {
          const names = named.get(module) ?? new Set<string>();
          for (const name of braces[1]!.split(',')) if (name.trim()) names.add(name.trim());
          named.set(module, names);
        } else defaults.set(module, clause.trim());
        return '';
      },
    );
    bodies.push(body);
  }
  const imports = [
    ...[...defaults].map(([module, name]) => `import ${name} from '${module}';`),
    ...[...named].map(([module, names]) => `import { ${[...names].join(', ')} } from '${module}';`),
  ];
  return `${imports.join('\n')}\n${bodies.join('\n')}`;
}

describe('docs/sdk.md', () => {
  it('has an example for every builder the SDK exports', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    const used = blocks.join('\n');
    for (const builder of [
      'features(',
      'hasMany(',
      'hasOne(',
      'windowed(',
      'online(',
      'online.batch(',
      'offline(',
      'dataFrame(',
      'sqlResolver(',
      'stream(',
      'windowedStream(',
      'namedQuery(',
      'scheduledQuery(',
      'runResolver(',
      'runResolverRows(',
      '.expression(',
      'F.coalesce(',
    ])
      expect(used, builder).toContain(builder);
  });

  it('type-checks as one program', () => {
    const file = join(dir, 'all-examples.mts');
    writeFileSync(file, program(blocks));
    const compiled = ts.createProgram([file], {
      target: ts.ScriptTarget.ES2023,
      lib: ['lib.es2023.d.ts'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      allowImportingTsExtensions: true,
      noEmit: true,
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
    });
    const problems = ts
      .getPreEmitDiagnostics(compiled)
      .filter((diagnostic) => diagnostic.file?.fileName === file || diagnostic.file === undefined)
      .map((diagnostic) => {
        const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
        if (!diagnostic.file || diagnostic.start === undefined) return text;
        const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
        return `line ${line + 1}: ${text}\n  ${diagnostic.file.text.split('\n')[line]}`;
      });
    expect(problems).toEqual([]);
  }, 60_000);

  it('deploys: the graph collects and lints without an error', async () => {
    const file = join(dir, 'graph-examples.mts');
    writeFileSync(file, program(blocks.filter((block) => !block.includes("from 'node:test'"))));
    const exports = (await import(file)) as Record<string, unknown>;
    const { artifact } = (() => {
      try {
        return collectGraph(exports, { project: 'sdk-docs' });
      } catch (error) {
        throw new Error(JSON.stringify((error as { details?: unknown }).details ?? String(error)));
      }
    })();
    expect(lintGraph(artifact).filter((issue) => issue.severity === 'error')).toEqual([]);
    const namespaces = artifact.namespaces.map((namespace) => namespace.name).sort();
    expect(namespaces).toEqual(
      [
        'account',
        'basket',
        'card',
        'customer',
        'driver',
        'line',
        'loan',
        'member',
        'order',
        'payer',
        'purchase',
        'shopper',
        'visitor',
      ].sort(),
    );
    const resolvers = artifact.resolvers.map((resolver) => resolver.fqn).sort();
    expect(resolvers).toEqual(
      expect.arrayContaining([
        'customer_domain',
        'customer_segment',
        'driver_ratings',
        'all_drivers',
        'payer_plan',
        'payer_totals',
        'visitor_pages',
        'visitor_windows',
        'loan_risk',
      ]),
    );
  });
});
