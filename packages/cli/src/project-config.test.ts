import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProjectConfig, readProjectConfig } from './project-config.ts';

describe('parseProjectConfig', () => {
  it('accepts project and entry', () => {
    expect(parseProjectConfig('project: quickstart\nentry: src/index.ts\n')).toEqual({
      project: 'quickstart',
      entry: 'src/index.ts',
    });
  });

  it.each([
    ['entry: src/index.ts', /project: /],
    ['project: quickstart', /entry: /],
    ['project: Quick Start\nentry: src/index.ts', /project: lowercase letters/],
    ['project: q\nentry: /abs/index.ts', /entry: a path relative to slate.yaml/],
    ['project: [q\n', /not valid YAML/],
    ['', /project: .*; entry: /],
  ])('refuses %j', (text, message) => {
    const error = (() => {
      try {
        parseProjectConfig(text, 'x/slate.yaml');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ kind: 'input', code: 'INVALID_PROJECT_CONFIG' });
    expect((error as Error).message).toMatch(/^x\/slate\.yaml: /);
    expect((error as Error).message).toMatch(message);
  });
});

describe('readProjectConfig', () => {
  it('resolves the entry against the directory, and names a missing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slate-config-'));
    try {
      await expect(readProjectConfig(dir)).rejects.toMatchObject({
        code: 'NO_PROJECT_CONFIG',
        message: expect.stringContaining(join(dir, 'slate.yaml')),
      });
      await writeFile(join(dir, 'slate.yaml'), 'project: p\nentry: src/main.ts\n');
      expect(await readProjectConfig(dir)).toEqual({
        project: 'p',
        entry: 'src/main.ts',
        dir,
        entryPath: join(dir, 'src', 'main.ts'),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
