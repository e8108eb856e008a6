import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestPlane, type TestPlane } from './fixtures/test-plane.ts';

let plane: TestPlane;
beforeAll(async () => {
  plane = await createTestPlane();
});

async function online(body: unknown) {
  return plane.app.inject({
    method: 'POST',
    url: '/v1/query/online',
    headers: { authorization: `Bearer ${await plane.token()}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}

/** A feather request framed from chalk.md §3.5: `chal1`, then u64-BE length + JSON header, u64-BE length + Arrow. */
function featherRequest(header: Record<string, unknown>, arrow: Uint8Array): Buffer {
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  const json = Buffer.from(JSON.stringify(header));
  return Buffer.concat([Buffer.from('chal1'), u64(json.length), json, u64(arrow.length), Buffer.from(arrow)]);
}

async function feather(header: Record<string, unknown>) {
  return plane.app.inject({
    method: 'POST',
    url: '/v1/query/feather',
    headers: {
      authorization: `Bearer ${await plane.token()}`,
      'content-type': 'application/octet-stream',
    },
    payload: featherRequest(header, tableToIPC(tableFromArrays({ 'user.id': [1] }), 'stream')),
  });
}

describe('deployment_id', () => {
  it('answers from the named deployment when it is the one loaded', async () => {
    // The test plane activates deployment cdep1 for its environment.
    const response = await online({
      inputs: { 'user.id': 1 },
      outputs: ['user.name'],
      deployment_id: 'cdep1',
      include_meta: true,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().meta.deployment_id).toBe('cdep1');
  });

  it('refuses a deployment this data plane has not loaded with 404 DEPLOYMENT_NOT_LOADED, JSON and feather', async () => {
    const json = await online({
      inputs: { 'user.id': 1 },
      outputs: ['user.name'],
      deployment_id: 'preview-7',
    });
    expect(json.statusCode).toBe(404);
    expect(json.json()).toMatchObject({
      code: 'DEPLOYMENT_NOT_LOADED',
      detail: expect.stringMatching(/'preview-7' is not loaded/),
    });
    const binary = await feather({ outputs: ['user.name'], deployment_id: 'preview-7' });
    expect(binary.statusCode).toBe(404);
    expect(binary.json()).toMatchObject({ code: 'DEPLOYMENT_NOT_LOADED' });
  });
});
