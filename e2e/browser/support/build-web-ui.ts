import { resolve } from 'node:path';
import { build } from 'vite';

const WEB_APP = resolve(import.meta.dirname, '../../../apps/web');

/**
 * Builds the web UI (`apps/web`, its own vite config) into `outDir`, so a browser suite tests the sources
 * of this checkout rather than whatever `apps/web/dist` holds, and never writes into the workspace.
 */
export async function buildWebUi(outDir: string): Promise<void> {
  // Vitest sets NODE_ENV=test, which would give React's development build (twice the size, other
  // behaviour): build what ships.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      configFile: resolve(WEB_APP, 'vite.config.ts'),
      mode: 'production',
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, sourcemap: false },
    });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}
