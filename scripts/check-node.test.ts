import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./check-node.mjs', import.meta.url));
const check = (version?: string) =>
  spawnSync(process.execPath, [script, ...(version ? [version] : [])], { encoding: 'utf8' });

describe('the Node.js check `npm start` runs first', () => {
  it('reads engines.node as the only accepted form, >=20.19', () => {
    const engines = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines;
    expect(engines.node).toBe('>=20.19');
    expect(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).toContain(
      '"prestart": "node scripts/check-node.mjs && npm run build --silent"',
    );
  });

  it('passes on the Node running the tests and on versions at or above the minimum', () => {
    for (const version of [undefined, '20.19.0', 'v20.20.2', '22.0.0', '24.11.1']) {
      const result = check(version);
      expect(result.status, `${version}: ${result.stderr}`).toBe(0);
      expect(result.stderr).toBe('');
    }
  });

  it('refuses older versions with one line naming both versions', () => {
    for (const version of ['20.18.3', '18.20.4', 'v16.0.0']) {
      const result = check(version);
      expect(result.status).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('Slate needs Node.js 20.19 or newer');
      expect(lines[0]).toContain(`this is Node ${version.replace(/^v/, '')}`);
    }
  });
});
