/**
 * Issue 11.12: both planes answer an unexpected fault and a schema failure the same way (one mapper in
 * `@slate/http-edge`), where they once said `INTERNAL` and `INTERNAL_SERVER_ERROR` and refused zod
 * failures in different shapes. Each plane gets the same two probe routes, and their answers are compared
 * with each other and with the values written here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetadataPlane, type MetadataPlane } from '@slate/metadata-plane';
import { createLocalObjectStore } from '@slate/stores';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestPlane, type TestPlane } from '../apps/data-plane/src/http/fixtures/test-plane.ts';

const SECRET_DETAIL = 'the database password is hunter2';

function addProbes(app: FastifyInstance): void {
  app.get('/probe/fault', async () => {
    throw new Error(SECRET_DETAIL);
  });
  app.post('/probe/schema', async (request) =>
    z.object({ name: z.string(), items: z.array(z.object({ count: z.number().int() })) }).parse(request.body),
  );
}

describe('one error mapper for both planes', () => {
  let dir: string;
  let metadata: MetadataPlane;
  let data: TestPlane;
  let dataAuth: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-error-wire-'));
    const objectStore = createLocalObjectStore({ root: dir });
    await objectStore.init();
    metadata = await createMetadataPlane({
      mode: 'embedded',
      database: { type: 'pglite' },
      objectStore,
      apiServer: 'http://127.0.0.1:4000/',
      registrationToken: 'error-wire-registration',
      logger: pino({ level: 'silent' }),
    });
    addProbes(metadata.app);
    await metadata.app.ready();
    data = await createTestPlane();
    addProbes(data.app);
    await data.app.ready();
    // The data plane authenticates every route before it runs; the metadata plane's probes are unlisted.
    dataAuth = { authorization: `Bearer ${await data.token()}` };
  }, 120_000);
  afterAll(async () => {
    await data?.app.close();
    await metadata?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const both = async (request: { method: 'GET' | 'POST'; url: string; payload?: object }) =>
    Promise.all([metadata.app.inject(request), data.app.inject({ ...request, headers: dataAuth })]);

  it('answers an unexpected fault with 500 INTERNAL_SERVER_ERROR on both, without its message', async () => {
    const answers = await both({ method: 'GET', url: '/probe/fault' });
    for (const answer of answers) {
      expect(answer.statusCode).toBe(500);
      expect(answer.json().code).toBe('INTERNAL_SERVER_ERROR');
      expect(answer.body).not.toContain('hunter2');
    }
    expect(Object.keys(answers[0].json()).sort()).toEqual(Object.keys(answers[1].json()).sort());
  });

  it('answers a schema failure with 400 in one shape on both, naming the fields', async () => {
    // A nested field inside a list, and a body that is not an object at all (the root).
    for (const payload of [{ name: 7, items: [{ count: 1 }, { count: 'x' }] }, [1, 2]]) {
      const answers = await both({ method: 'POST', url: '/probe/schema', payload });
      const [fromMetadata, fromData] = answers.map((answer) => answer.json());
      for (const answer of answers) expect(answer.statusCode).toBe(400);
      expect(fromMetadata).toEqual(fromData);
      expect(fromMetadata.code).toBe('INVALID_REQUEST');
    }
    const nested = await metadata.app.inject({
      method: 'POST',
      url: '/probe/schema',
      payload: { name: 7, items: [{ count: 1 }, { count: 'x' }] },
    });
    expect(
      nested
        .json()
        .issues.map((issue: { path: string }) => issue.path)
        .sort(),
    ).toEqual(['items[1].count', 'name']);
  });
});
