import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Every production source file of the apps and packages: no tests, suites, fixtures or scripts. */
function productionSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (['node_modules', 'dist', 'fixtures', 'gen', 'scripts'].includes(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name) && !/\.(test|suite|int\.test|test-d)\.tsx?$/.test(entry.name))
        out.push(path);
    }
  };
  for (const part of ['apps', 'packages']) {
    for (const pkg of readdirSync(join(root, part), { withFileTypes: true })) {
      if (pkg.isDirectory()) walk(join(root, part, pkg.name, 'src'));
    }
  }
  return out;
}

// Issue 11, item 12d: three redaction lists had drifted apart, and the persistence worker and stream
// consumers logged through a root logger that blanked only `req.headers.authorization`. The rule that
// keeps it one list: a process makes its root logger only through `createRedactingLogger`, and a child
// that sets its own `redact` passes `LOG_REDACTION`.
describe('one log-redaction list', () => {
  const sources = productionSources();

  it('finds the sources it checks', () => {
    const names = sources.map((path) => relative(root, path));
    expect(names).toContain('apps/data-plane/src/main.ts');
    expect(names).toContain('apps/metadata-plane/src/logger.ts');
    expect(names).toContain('packages/http-edge/src/log-redaction.ts');
  });

  it('makes every root logger with createRedactingLogger, and every redact option from LOG_REDACTION', () => {
    const offences: string[] = [];
    for (const path of sources) {
      const name = relative(root, path);
      if (name === 'packages/http-edge/src/log-redaction.ts') continue;
      const text = readFileSync(path, 'utf8');
      text.split('\n').forEach((line, i) => {
        if (/\bpino\s*\(/.test(line)) offences.push(`${name}:${i + 1}: ${line.trim()}`);
        if (/\bredact\s*:/.test(line) && !/\bredact\s*:\s*LOG_REDACTION\b/.test(line))
          offences.push(`${name}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offences).toEqual([]);
  });
});
