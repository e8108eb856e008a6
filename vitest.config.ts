import { defineConfig } from 'vitest/config';

/**
 * `npm test` runs every project: the Node packages and apps (unit, integration against the machine's
 * PostgreSQL and Redis, end to end over `slate up`) and the web UI (jsdom). Type tests (`*.test-d.ts`)
 * are checked by tsc as part of the run.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: [
            'packages/*/src/**/*.test.ts',
            'apps/*/src/**/*.test.ts',
            'e2e/**/*.test.ts',
            'examples/*/src/**/*.test.ts',
            'deploy/**/*.test.ts',
            'scripts/*.test.ts',
          ],
          exclude: ['**/node_modules/**', 'apps/web/**'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
          pool: 'forks',
          // Tests run the sources: `packages/cli/bin/slate.js` runs src/ through tsx, not dist/ (which may be stale).
          env: { SLATE_CLI_FROM_SOURCE: '1' },
          // Creates the test databases, fetches helm, and says in one line which services are missing.
          globalSetup: ['packages/testing/src/global-setup.ts'],
          typecheck: {
            enabled: true,
            include: ['packages/*/src/**/*.test-d.ts'],
            tsconfig: './tsconfig.json',
          },
        },
      },
      'apps/web/vitest.config.ts',
    ],
  },
});
