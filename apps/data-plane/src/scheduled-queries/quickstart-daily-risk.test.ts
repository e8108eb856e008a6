import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalObjectStore, createLogBus, createParquetOfflineStore } from '@slate/stores';
import { afterAll, expect, it } from 'vitest';
import { createTestPlane } from '../http/fixtures/test-plane.ts';
import { createOfflineQueryService } from '../offline/offline-query-service.ts';
import { parseResultMessage, RESULT_BUS_TOPIC } from '../persistence/result-message.ts';
import { createResultPublisher } from '../persistence/result-publisher.ts';
import { createScheduledQueryRunner } from './scheduled-query-runner.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-daily-risk-'));
afterAll(() => rm(root, { recursive: true, force: true }));

it("the quickstart's daily_risk stores the README's risk scores for the users the offline store knows", async () => {
  const objects = createLocalObjectStore({ root: join(root, 'objects') });
  const offlineStore = createParquetOfflineStore({ objectStore: objects, threads: 1 });
  const bus = createLogBus({ root: join(root, 'bus'), sync: false });
  for (const store of [objects, offlineStore, bus]) await store.init();
  const plane = await createTestPlane(); // the quickstart example, environment `dev`
  // What the hourly user_directory snapshot leaves in the offline store: users 1 to 5.
  await offlineStore.write('dev', [
    {
      id: 'user-directory',
      observations: [1, 2, 3, 4, 5].map((id) => ({
        feature: 'user.name',
        pkey: String(id),
        value: `user ${id}`,
        observedAt: Date.UTC(2026, 0, 1),
        insertedAt: Date.UTC(2026, 0, 1),
      })),
    },
  ]);
  const publisher = createResultPublisher(bus);
  const runner = createScheduledQueryRunner({
    served: plane.served,
    offlineStore,
    offlineQueries: createOfflineQueryService({
      served: plane.served,
      offlineStore,
      objectStore: objects,
      publisher,
    }),
    publisher,
    objectStore: objects,
    pollMs: 20,
  });
  const due = '2026-01-02T03:00:00.000Z';
  const started = await runner.trigger({
    query_name: 'daily_risk',
    environment: 'dev',
    due_at: due,
    idempotency_key: `scheduled-query:dev:daily_risk:${due}`,
  });
  expect(started.entities).toBe(5);
  await runner.idle();
  const consumer = bus.consumer({ topic: RESULT_BUS_TOPIC, group: 'inspect' });
  const messages = (await consumer.poll({ max: 100 })).map((m) => parseResultMessage(m.value));
  await consumer.close();
  expect(messages.every((m) => m.writeOnline && m.writeOffline)).toBe(true);
  // examples/quickstart/README.md's table.
  const readme: Record<string, number> = { '1': 0.17, '2': 0.1, '3': 0.876, '4': 0, '5': 0.31 };
  expect(
    Object.fromEntries(
      messages.flatMap((m) =>
        m.values.filter((v) => v.feature === 'user.risk_score').map((v) => [v.pkey, v.value]),
      ),
    ),
  ).toEqual(readme);
  for (const store of [offlineStore, bus, objects]) await store.close();
});
