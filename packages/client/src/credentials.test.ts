import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_API_SERVER, loadCredentials } from './credentials.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'slate-credentials-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function writeCredentials(dir: string, content: unknown) {
  await mkdir(join(dir, '.slate'), { recursive: true });
  await writeFile(join(dir, '.slate', 'credentials.json'), JSON.stringify(content));
}

describe('loadCredentials', () => {
  it('finds the nearest credentials file walking up from cwd', async () => {
    await writeCredentials(root, {
      client_id: 'file-id',
      client_secret: 'file-secret',
      api_server: 'http://127.0.0.1:4100',
      environment: 'dev',
    });
    const cwd = join(root, 'a', 'b');
    await mkdir(cwd, { recursive: true });
    expect(await loadCredentials({ cwd, env: {} })).toEqual({
      clientId: 'file-id',
      clientSecret: 'file-secret',
      apiServer: 'http://127.0.0.1:4100',
      environment: 'dev',
      source: join(root, '.slate', 'credentials.json'),
    });
  });

  it('prefers explicit options, then SLATE_* and _CHALK_* variables, then the file', async () => {
    await writeCredentials(root, { client_id: 'file-id', client_secret: 'file-secret', environment: 'dev' });
    const env = {
      _CHALK_CLIENT_ID: 'chalk-id',
      _CHALK_CLIENT_SECRET: 'chalk-secret',
      SLATE_CLIENT_SECRET: 'slate-secret',
      _CHALK_API_SERVER: 'http://chalk:4000',
      _CHALK_QUERY_SERVER: 'http://engine:4001',
    };
    expect(await loadCredentials({ cwd: root, env })).toEqual({
      clientId: 'chalk-id',
      clientSecret: 'slate-secret',
      apiServer: 'http://chalk:4000',
      queryServer: 'http://engine:4001',
      source: 'env:_CHALK_CLIENT_ID',
    });
    expect(await loadCredentials({ cwd: root, env, clientId: 'flag-id', environment: 'prod' })).toMatchObject(
      {
        clientId: 'flag-id',
        environment: 'prod',
        source: 'options',
      },
    );
  });

  it('fills only the missing settings from the file', async () => {
    await writeCredentials(root, { client_id: 'file-id', client_secret: 'file-secret' });
    expect(await loadCredentials({ cwd: root, env: { SLATE_CLIENT_ID: 'env-id' } })).toEqual({
      clientId: 'env-id',
      clientSecret: 'file-secret',
      apiServer: DEFAULT_API_SERVER,
      source: 'env:SLATE_CLIENT_ID',
    });
  });

  it('names every place it searched when nothing is found', async () => {
    const cwd = join(root, 'x');
    await mkdir(cwd);
    const error = await loadCredentials({ cwd, env: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'authentication', code: 'NO_CREDENTIALS' });
    const message = (error as Error).message;
    expect(message).toContain(join(cwd, '.slate', 'credentials.json'));
    expect(message).toContain(join(root, '.slate', 'credentials.json'));
    expect(message).toContain('_CHALK_CLIENT_ID');
  });

  it('rejects a malformed credentials file', async () => {
    await writeCredentials(root, { client_id: 'id', api_server: 'not a url' });
    const error = await loadCredentials({ cwd: root, env: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'input', code: 'INVALID_CREDENTIALS_FILE' });
    expect((error as Error).message).toMatch(/client_secret/);
    expect((error as Error).message).toMatch(/api_server/);
  });
});
