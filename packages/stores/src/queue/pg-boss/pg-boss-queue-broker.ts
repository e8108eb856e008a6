import { createHash } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import PgBoss from 'pg-boss';
import {
  assertQueueName,
  deadLetterNameOf,
  type Queue,
  type QueueBody,
  type QueueBroker,
  type QueueMessage,
  QueueOptionsSchema,
} from '../queue.ts';

/** Runs one SQL text (possibly several statements) and returns the last statement's rows. */
export type ExecuteSql = (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }>;

export interface PgBossQueueBrokerOptions {
  /**
   * Where the queues live: a PostgreSQL URL (the broker opens its own pool), or an `executeSql` to share
   * a connection the caller owns (for PGlite see `pgliteExecuteSql`).
   */
  readonly connection: { readonly url: string; readonly max?: number } | { readonly executeSql: ExecuteSql };
  /** PostgreSQL schema for pg-boss's tables (default `pgboss`). */
  readonly schema?: string;
  /** Background maintenance (archiving, purging, expiring) every this many seconds (default 60). */
  readonly maintenanceIntervalSeconds?: number;
  /** pg-boss background errors (maintenance runs outside any caller). */
  readonly onError?: (error: Error) => void;
}

/**
 * An `executeSql` over a PGlite. pg-boss sends multi-statement SQL without parameters, which PGlite's
 * `query` rejects, so those go through `exec`.
 */
export function pgliteExecuteSql(lite: PGlite): ExecuteSql {
  return async (text, values) => {
    if (values && values.length > 0) return lite.query(text, values);
    const results = await lite.exec(text);
    return { rows: results.at(-1)?.rows ?? [] };
  };
}

/** How often a receive may re-check visibility timeouts itself (pg-boss expires jobs only in maintenance). */
const EXPIRE_EVERY_MS = 250;

/**
 * The default `QueueBroker`, on pg-boss 10 (PostgreSQL, or PGlite in embedded mode). Messages are pg-boss
 * jobs: the visibility timeout is the job's expiry, retries are pg-boss retries with exponential backoff,
 * and exhausted jobs go to the `<name>-dlq` queue. An idempotency key becomes the job id (a UUID derived
 * from queue name + key), so a duplicate send is refused by the primary key until the job is archived
 * (12 h after completion by default).
 *
 * @example
 * const broker = createPgBossQueueBroker({ connection: { url: 'postgres://…/slate' } });
 * await broker.init();
 * const heartbeat = await broker.queue('heartbeat', { visibilityTimeoutSeconds: 10, maxAttempts: 1 });
 */
export function createPgBossQueueBroker(options: PgBossQueueBrokerOptions): QueueBroker {
  const connection = options.connection;
  const boss = new PgBoss({
    ...('url' in connection
      ? { connectionString: connection.url, max: connection.max ?? 4 }
      : {
          db: {
            executeSql: async (text: string, values: unknown[]) =>
              (await connection.executeSql(text, values)) as { rows: never[] },
          },
        }),
    schema: options.schema ?? 'pgboss',
    schedule: false,
    supervise: true,
    maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 60,
  });
  boss.on('error', (error) => options.onError?.(error));
  let lastExpire = 0;
  let started = false;
  let closed = false;

  // Expiry is what turns an abandoned in-flight job back into a deliverable retry. pg-boss runs it only in
  // its maintenance loop, so receivers run it themselves (rate-limited) to honour short visibility timeouts.
  const expire = async () => {
    if (Date.now() - lastExpire < EXPIRE_EVERY_MS) return;
    lastExpire = Date.now();
    await boss.expire();
  };
  const assertOpen = () => {
    if (!started || closed) throw new Error('the queue broker is not open (call init, not after close)');
  };

  return {
    capabilities: { idempotencyWindowSeconds: 12 * 3600, durable: true, reportsDuplicates: true },
    async init() {
      if (started) return;
      await boss.start();
      started = true;
    },
    async queue<T extends QueueBody>(name: string, queueOptions = {}): Promise<Queue<T>> {
      assertOpen();
      assertQueueName(name);
      const resolved = QueueOptionsSchema.parse(queueOptions);
      const dlqName = deadLetterNameOf(name);
      if (!(await boss.getQueue(dlqName))) await createQueueOnce(boss, dlqName, {});
      if (!(await boss.getQueue(name))) {
        await createQueueOnce(boss, name, {
          deadLetter: dlqName,
          expireInSeconds: resolved.visibilityTimeoutSeconds,
          retryLimit: resolved.maxAttempts - 1,
          retryDelay: resolved.retryDelaySeconds,
          retryBackoff: resolved.retryDelaySeconds > 0,
        });
      }
      const queue: Queue<T> = {
        name,
        deadLetterName: dlqName,
        options: resolved,
        async send(body, sendOptions = {}) {
          assertOpen();
          const key = sendOptions.idempotencyKey;
          const id = key ? uuidFromKey(name, key) : undefined;
          const sent = await boss.send(name, body as object, id ? { id } : {});
          if (sent === null && id) return { id, duplicate: true };
          if (sent === null) throw new Error(`pg-boss refused a message for queue ${name}`);
          return { id: sent, duplicate: false };
        },
        async receive(receiveOptions = {}) {
          assertOpen();
          const deadline = Date.now() + (receiveOptions.waitMs ?? 0);
          for (;;) {
            await expire();
            const jobs = await boss.fetch<T>(name, {
              batchSize: receiveOptions.max ?? 1,
              includeMetadata: true,
            });
            if (jobs.length > 0 || Date.now() >= deadline || receiveOptions.signal?.aborted) {
              return jobs.map(
                (job): QueueMessage<T> => ({
                  id: job.id,
                  body: job.data,
                  attempt: job.retryCount + 1,
                  receipt: job.id,
                }),
              );
            }
            await new Promise((resolve) => setTimeout(resolve, Math.min(100, deadline - Date.now())));
          }
        },
        async complete(message) {
          assertOpen();
          await boss.complete(name, message.receipt);
        },
        async fail(message, error) {
          assertOpen();
          await boss.fail(name, message.receipt, { message: error });
        },
        async depth() {
          assertOpen();
          await expire();
          return boss.getQueueSize(name, { before: 'completed' });
        },
      };
      return queue;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (started) await boss.stop({ graceful: false, wait: true, close: 'url' in connection });
    },
  };
}

/** Two brokers may create the same queue at once; the loser's duplicate-key error means it exists. */
async function createQueueOnce(
  boss: PgBoss,
  name: string,
  options: Omit<PgBoss.Queue, 'name'>,
): Promise<void> {
  try {
    await boss.createQueue(name, { name, ...options });
  } catch (error) {
    if (!(await boss.getQueue(name))) throw error;
  }
}

/** A UUID (version 8, RFC 9562 custom) derived from queue name + idempotency key. */
function uuidFromKey(queue: string, key: string): string {
  const h = createHash('sha256').update(`${queue}\0${key}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
