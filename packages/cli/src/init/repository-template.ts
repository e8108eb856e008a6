/**
 * The files `slate init` writes: a feature repository that lints, type-checks, tests and deploys as it is,
 * and shows each part a feature engineer edits next (feature classes, a resolver, a resolver's unit test).
 */

/**
 * The compiler options of a feature repository: what `slate init` writes in `tsconfig.json`, and what the
 * type check uses for a repository without one (types of Node only when it has them).
 */
export const REPOSITORY_COMPILER_OPTIONS = {
  target: 'ES2023',
  lib: ['ES2023'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  allowImportingTsExtensions: true,
  noEmit: true,
  strict: true,
  skipLibCheck: true,
  types: ['node'],
} as const;

/** `slate init`'s `tsconfig.json`. */
export const REPOSITORY_TSCONFIG = { compilerOptions: REPOSITORY_COMPILER_OPTIONS, include: ['src/**/*.ts'] };

/** A project name as `slate.yaml` and the metadata plane accept it: lowercase, digits, `-` and `_`. */
export function projectNameOf(folderName: string): string {
  const name = folderName
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
  return name === '' ? 'features' : name.slice(0, 63);
}

/** Path → content, relative to the new repository's folder. */
export function repositoryTemplate(project: string): Readonly<Record<string, string>> {
  return {
    'slate.yaml': `# The feature repository's settings, read by \`slate lint\`, \`slate diff\` and \`slate apply\`.
project: ${project}
entry: src/index.ts
`,
    'package.json': `${JSON.stringify(
      {
        name: project,
        version: '0.1.0',
        private: true,
        type: 'module',
        scripts: {
          lint: 'slate lint',
          apply: 'slate apply',
          test: 'node --import tsx --test src/*.test.ts',
        },
        dependencies: { '@slate/sdk': '*' },
        devDependencies: {
          '@slate/cli': '*',
          '@types/node': '^20.19.0',
          tsx: '^4.23.0',
          typescript: '~6.0.3',
        },
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `${JSON.stringify(REPOSITORY_TSCONFIG, null, 2)}\n`,
    '.gitignore': 'node_modules/\n.slate/\n*.parquet\n',
    'src/features.ts': `import { features, float, int, string } from '@slate/sdk';

/** A customer of the shop: the entity every feature below describes. */
export const Customer = features(
  'customer',
  {
    id: int(),
    email: string(),
    email_domain: string().describe('The part of the email after @'),
    lifetime_spend: float().describe('USD, from the orders service'),
    is_big_spender: int().describe('1 when lifetime_spend is over 1,000 USD'),
  },
  { owner: 'you@example.com' },
);
`,
    'src/resolvers.ts': `import { online } from '@slate/sdk';
import { Customer } from './features.ts';

/** Sample rows; a real resolver calls a database or a service here (secrets: context.secret('NAME')). */
const customers = new Map([
  [1, { email: 'ada@example.com', spend: 1250.5 }],
  [2, { email: 'grace@navy.mil', spend: 310 }],
]);

export const get_customer = online({
  inputs: { id: Customer.id },
  outputs: { email: Customer.email, spend: Customer.lifetime_spend },
  fn: ({ id }) => {
    const customer = customers.get(id);
    if (!customer) throw new Error(\`no customer \${id}\`);
    return { email: customer.email, spend: customer.spend };
  },
});

export const email_domain = online({
  inputs: { email: Customer.email },
  outputs: { domain: Customer.email_domain },
  fn: ({ email }) => ({ domain: email.slice(email.indexOf('@') + 1).toLowerCase() }),
});

export const big_spender = online({
  inputs: { spend: Customer.lifetime_spend },
  outputs: { big: Customer.is_big_spender },
  fn: ({ spend }) => ({ big: spend > 1000 ? 1 : 0 }),
});
`,
    'src/index.ts': `// Everything exported here is deployed: feature classes, resolvers, named and scheduled queries.
export { Customer } from './features.ts';
export * from './resolvers.ts';
`,
    'src/resolvers.test.ts': `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runResolver } from '@slate/sdk';
import { big_spender, email_domain, get_customer } from './resolvers.ts';

test('email_domain keeps the part after @, lowercased', async () => {
  assert.deepEqual(await runResolver(email_domain, { email: 'Someone@Example.COM' }), { domain: 'example.com' });
});

test('get_customer reads the sample rows', async () => {
  assert.deepEqual(await runResolver(get_customer, { id: 2 }), { email: 'grace@navy.mil', spend: 310 });
});

test('big_spender is 1 over 1,000 USD', async () => {
  assert.equal((await runResolver(big_spender, { spend: 1000.01 })).big, 1);
  assert.equal((await runResolver(big_spender, { spend: 1000 })).big, 0);
});
`,
    'README.md': `# ${project}

A Slate feature repository. The SDK reference: Slate's \`docs/sdk.md\`; the CLI: \`docs/cli.md\`.

\`\`\`sh
npm install                # @slate/sdk, the slate CLI, TypeScript
npm test                   # the resolvers' unit tests (src/*.test.ts, runResolver from @slate/sdk)
npx slate lint             # the graph and the TypeScript types, without deploying
npx slate diff             # what apply would change (needs a server: slate up, or .slate/credentials.json)
npx slate apply            # deploy
npx slate query --in customer.id=1 --out customer.email_domain --out customer.is_big_spender
\`\`\`

An offline dataset from a CSV of inputs (\`customer.id\` column, optional \`__ts__\`); \`--recompute\` runs the
resolvers, without it values are sampled from the offline store (what earlier queries and uploads stored):

\`\`\`sh
printf 'customer.id\\n1\\n2\\n' > spine.csv
npx slate offline-query --input spine.csv --output customer.email_domain --output customer.is_big_spender \\
  --recompute --out dataset.parquet
\`\`\`

Edit \`src/features.ts\` to declare features and \`src/resolvers.ts\` to compute them; \`slate lint\` reports
a resolver that returns the wrong type at its \`file:line:col\`.
`,
  };
}
