/**
 * The scale-out test's streaming part: the `scale-out-readings` topic (see project-source.ts) consumed by
 * three streaming replicas (`east-2`, and `east-3`, `east-4` with `SLATE_ROLE=streaming`), one of the two
 * new ones SIGKILLed mid-stream. Messages go in through the data plane's publish route, in round robin.
 * Checked by reading the stores directly: every message's `reading.amount` is online and offline once with
 * its value, and each sensor's windowed count equals the messages sent for it (a message counted by two
 * owners, or lost with the killed one, would show).
 */
import type { OfflineStore } from '@slate/stores';
import { createRedisOnlineStore } from '@slate/stores';
import { expect } from 'vitest';
import type { Replica, ScaleOutCluster } from './cluster.ts';

const TOPIC = 'scale-out-readings';
const SENSORS = 10;
/** Messages per publish request, and the pause between requests (so the stream spans the kill). */
const BATCH = 5;
const PAUSE_MS = 20;
/** Messages published after the kill. */
const AFTER_KILL = 300;

/** `stream_messages` successes of `resolver` on one replica (0 when its metrics do not answer). */
async function streamed(replica: Replica, resolver: string): Promise<number> {
  const text = await fetch(replica.metricsUrl).then(
    (r) => r.text(),
    () => '',
  );
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^\w*stream_messages\w*\{([^}]*)\}\s+([\d.e+]+)$/.exec(line);
    const labels = match?.[1] ?? '';
    if (labels.includes(`resolver="${resolver}"`) && labels.includes('status="success"'))
      total += Number(match![2]);
  }
  return total;
}

/** Runs the streaming scenario on `cluster`; `offlineStore` opens a reader of its Parquet store. */
export async function streamingTest(
  cluster: ScaleOutCluster,
  offlineStore: () => Promise<OfflineStore>,
): Promise<void> {
  const deployment = (await cluster.instances()).find((i) => i.instance_id === 'east-2')?.deployments.dev;
  expect(deployment).toBeTruthy();
  await cluster.startReplica('east-3', 'streaming');
  await cluster.startReplica('east-4', 'streaming');
  await cluster.until(async () => {
    const list = (await cluster.instances()).filter((i) => ['east-3', 'east-4'].includes(i.instance_id));
    return list.length === 2 && list.every((i) => i.healthy && i.deployments.dev === deployment)
      ? true
      : undefined;
  }, 'the new streaming replicas on the deployment');
  const streamers = cluster.replicas.filter((r) => ['east-2', 'east-3', 'east-4'].includes(r.name));

  // The publisher: ids from 1, sensor = id % SENSORS, key = the sensor (Kafka keeps a key on one partition).
  const sent: number[] = [];
  const failedPublishes: string[] = [];
  let publishUntil = Number.POSITIVE_INFINITY;
  let nextId = 1;
  const publisher = (async () => {
    while (nextId <= publishUntil) {
      const ids = Array.from({ length: BATCH }, (_, i) => nextId + i);
      nextId += BATCH;
      const { ok, detail } = await cluster.front.post(`/v1/streams/${TOPIC}/messages`, {
        messages: ids.map((id) => ({ key: `sensor-${id % SENSORS}`, value: { id, sensor: id % SENSORS } })),
      });
      // A failed request may have published part of its batch: it is not retried (that would send the
      // same readings twice) and fails the test.
      if (ok) sent.push(...ids);
      else failedPublishes.push(detail);
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  })();

  let victim: Replica;
  let windowedConsumers = 0;
  try {
    // Mid-stream: at least two replicas have consumed readings, one of them a replica that will be killed.
    // On Kafka the three replicas join the group one by one, each join a rebalance: an acknowledgement
    // caught in one waits for the rejoin and commits under the new generation (no failed batch, no backoff).
    victim = await cluster.until(
      async () => {
        const counts = await Promise.all(streamers.map((r) => streamed(r, 'readings')));
        const windowed = await Promise.all(streamers.map((r) => streamed(r, 'sensor_hits')));
        if (counts.filter((n) => n > 0).length < 2 || !windowed.some((n) => n > 0)) return undefined;
        windowedConsumers = windowed.filter((n) => n > 0).length;
        // Kill the windowed stream's owner if it is one of the new replicas, else one that read readings.
        const candidates = [1, 2].filter((i) => counts[i]! > 0);
        const owner = candidates.find((i) => windowed[i]! > 0);
        const chosen = owner ?? candidates[0];
        return chosen === undefined ? undefined : streamers[chosen];
      },
      'readings consumed by two streaming replicas',
      90_000,
    );
    victim.process.child.kill('SIGKILL');
    await victim.process.exited;
    publishUntil = nextId + AFTER_KILL;
  } finally {
    if (publishUntil === Number.POSITIVE_INFINITY) publishUntil = 0;
    await publisher;
  }
  expect(failedPublishes).toEqual([]);
  // Redis Streams hands any message to any consumer, so the windowed stream is leased to one replica; Kafka
  // keeps each sensor's key on one partition, whose owner may be any replica.
  if (cluster.bus === 'redis') expect(windowedConsumers).toBe(1);
  else expect(windowedConsumers).toBeGreaterThanOrEqual(1);
  expect(sent.length).toBeGreaterThan(AFTER_KILL);

  const online = createRedisOnlineStore({ url: cluster.redis.url, keyPrefix: cluster.run });
  await online.init();
  const expectedHits = new Map<number, number>();
  for (const id of sent) expectedHits.set(id % SENSORS, (expectedHits.get(id % SENSORS) ?? 0) + 1);
  const amounts = async () =>
    (
      await online.get(
        'dev',
        sent.map((id) => ({ feature: 'reading.amount', pkey: String(id) })),
      )
    ).map((v) => v?.value ?? null);
  const hits = async () => {
    const out: Record<number, unknown> = {};
    for (let sensor = 0; sensor < SENSORS; sensor++) {
      const { json } = await cluster.front.post('/v1/query/online', {
        inputs: { 'sensor.id': sensor },
        outputs: ['sensor.hits__3600__'],
      });
      out[sensor] = (json as { data?: { value: unknown }[] } | undefined)?.data?.[0]?.value;
    }
    return out;
  };
  const wanted = Object.fromEntries([...expectedHits].map(([sensor, n]) => [sensor, n]));
  try {
    // The killed replica's messages come back to the others (Kafka: after the group rebalances; Redis
    // Streams: once idle past the redelivery time; the windowed stream's lease expires first).
    await cluster.until(
      async () => ((await amounts()).every((v) => v !== null) ? true : undefined),
      'every reading online',
      240_000,
    );
    expect(await amounts()).toEqual(sent.map((id) => id / 8));
    await cluster.until(
      async () => (JSON.stringify(await hits()) === JSON.stringify(wanted) ? true : undefined),
      `windowed counts ${JSON.stringify(wanted)}`,
      240_000,
    );
  } finally {
    await online.close();
  }

  const offline = await offlineStore();
  try {
    const rows = async () => offline.scan('dev', { features: ['reading.amount'] });
    await cluster.until(
      async () => {
        const have = new Set((await rows()).map((r) => Number(r.pkey)));
        return sent.every((id) => have.has(id)) ? true : undefined;
      },
      'every reading offline',
      180_000,
    );
    // A late redelivery (a batch handled twice) would show within a few redelivery intervals.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const perId = new Map<number, number>();
    for (const row of await rows()) {
      perId.set(Number(row.pkey), (perId.get(Number(row.pkey)) ?? 0) + 1);
      expect(Number(row.value)).toBe(Number(row.pkey) / 8);
    }
    expect(sent.filter((id) => perId.get(id) !== 1)).toEqual([]);
    expect([...perId.keys()].filter((id) => !sent.includes(id))).toEqual([]);
  } finally {
    await offline.close();
  }
  // Still exact after the wait: no late double count.
  expect(await hits()).toEqual(wanted);
}
