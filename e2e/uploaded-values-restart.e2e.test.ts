/**
 * Uploaded values outlive `slate up`: values of features no resolver computes are uploaded, `slate up` is
 * stopped cleanly and then SIGKILLed, and after each restart the values are still served from the online
 * store (LMDB in the state folder by default; issue 11, item 2).
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessGroup, repoRoot as repo, type StartedProcess, startSlateUp } from './support/index.ts';

const work = mkdtempSync(join(tmpdir(), 'slate-e2e-uploads-'));
const project = join(work, 'project');
const stateDir = join(work, 'state');
let apiPort: number;
let dataPlanePort: number;
let up: StartedProcess | undefined;
const group = createProcessGroup({
  cwd: work,
  env: { ...(process.env as Record<string, string>), FORCE_COLOR: '0' },
});

/** Starts `slate up` and resolves once it printed that it is up. */
const startUp = (): Promise<StartedProcess> =>
  startSlateUp(group, { project, stateDir, port: apiPort, dataPlanePort });

const stop = (started: StartedProcess, signal: NodeJS.Signals) => group.stop(started, signal);

async function accessToken(): Promise<string> {
  const { client_id, client_secret } = JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8'));
  const response = await fetch(`http://127.0.0.1:${apiPort}/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id, client_secret, grant_type: 'client_credentials' }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function post(path: string, body: unknown) {
  const response = await fetch(`http://127.0.0.1:${dataPlanePort}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await accessToken()}`,
      'content-type': 'application/json',
      'x-chalk-env-id': 'dev',
    },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: responses are asserted field by field below.
  return { status: response.status, body: (await response.json()) as any };
}

/** The uploaded features of one account, as the data plane serves them (value, or the error code). */
async function served(id: number): Promise<Record<string, unknown>> {
  const { status, body } = await post('/v1/query/online', {
    inputs: { 'account.id': id },
    outputs: ['account.nickname', 'account.balance'],
  });
  expect(status).toBe(200);
  const answer: Record<string, unknown> = {};
  for (const row of body.data) answer[row.field] = row.value;
  for (const error of body.errors ?? []) answer[error.feature] = error.code;
  return answer;
}

/** Uploads one account's values, then waits until the online store serves them (persistence is async). */
async function upload(id: number, nickname: string, balance: number) {
  const { status, body } = await post('/v1/upload/single', {
    inputs: { 'account.id': id, 'account.nickname': nickname, 'account.balance': balance },
  });
  expect(status, JSON.stringify(body)).toBe(200);
  const expected = { 'account.nickname': nickname, 'account.balance': balance };
  const deadline = Date.now() + 20_000;
  while (JSON.stringify(await served(id)) !== JSON.stringify(expected)) {
    if (Date.now() > deadline) throw new Error(`account ${id} was not served after its upload`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  cpSync(join(repo, 'examples/quickstart'), project, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  // A namespace with no resolver at all: its values only ever arrive by upload.
  appendFileSync(
    join(project, 'src/index.ts'),
    [
      "import { features as uploadedFeatures, float as uploadedFloat, int as uploadedInt, string as uploadedString } from '@slate/sdk';",
      "export const Account = uploadedFeatures('account', {",
      '  id: uploadedInt(),',
      '  nickname: uploadedString(),',
      "  balance: uploadedFloat().maxStaleness('infinity'),",
      '});',
      '',
    ].join('\n'),
  );
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  apiPort = await freePort();
  dataPlanePort = await freePort();
  up = await startUp();
}, 240_000);

afterAll(async () => {
  if (up) await stop(up, 'SIGINT');
  await group.stopAll();
  rmSync(work, { recursive: true, force: true });
});

describe('uploaded values under slate up', () => {
  it('are served after a clean stop and after a SIGKILL', { timeout: 600_000 }, async () => {
    expect(await served(1)).toEqual({
      'account.nickname': 'RESOLVER_NOT_FOUND',
      'account.balance': 'RESOLVER_NOT_FOUND',
    });
    await upload(1, 'ada', 12.5);
    await upload(2, 'grace', 7);

    await stop(up!, 'SIGINT');
    up = await startUp();
    expect(await served(1)).toEqual({ 'account.nickname': 'ada', 'account.balance': 12.5 });
    expect(await served(2)).toEqual({ 'account.nickname': 'grace', 'account.balance': 7 });

    // Acknowledged (served) just before the crash: still there after it.
    await upload(3, 'linus', 3.25);
    await stop(up!, 'SIGKILL');
    up = await startUp();
    expect(await served(1)).toEqual({ 'account.nickname': 'ada', 'account.balance': 12.5 });
    expect(await served(2)).toEqual({ 'account.nickname': 'grace', 'account.balance': 7 });
    expect(await served(3)).toEqual({ 'account.nickname': 'linus', 'account.balance': 3.25 });
  });
});
