import { z } from 'zod';
import type { Bus } from './bus.ts';
import { createKafkaBus } from './kafka/kafka-bus.ts';
import { createLogBus } from './log/log-bus.ts';
import { createRedisBus } from './redis/redis-bus.ts';

/**
 * The message bus, chosen by `type`: the embedded durable log (one process, a local folder), Redis Streams,
 * or Kafka (SASL/SCRAM as the installation guide requires). Processes that share a bus must use the same one.
 */
export const BusConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('log'), root: z.string().min(1) }),
  z.object({
    type: z.literal('redis'),
    url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
    keyPrefix: z.string().min(1).optional(),
  }),
  z.object({
    type: z.literal('kafka'),
    brokers: z.array(z.string().min(1)).min(1),
    ssl: z.boolean().default(false),
    sasl: z
      .object({
        mechanism: z.enum(['scram-sha-256', 'scram-sha-512', 'plain']),
        username: z.string().min(1),
        password: z.string().min(1),
      })
      .optional(),
    topicPrefix: z.string().optional(),
    /**
     * Idempotent producer (default true). Off only for brokers that cannot hand out producer ids, such as
     * librdkafka's mock cluster, whose metadata names a controller that is none of its brokers.
     */
    idempotent: z.boolean().default(true),
    /**
     * Partitions of the topics the bus creates (default 1): the most consumers of one group that share a
     * topic's work (stream consumers, persistence workers). Existing topics keep theirs and must have at least
     * this many.
     */
    partitions: z.number().int().min(1).max(10_000).optional(),
    /** How long a consumer may go silent before its group rebalances (kafkajs default 30 s). */
    sessionTimeoutMs: z.number().int().min(1_000).optional(),
  }),
]);
export type BusConfig = z.input<typeof BusConfigSchema>;

/**
 * Creates the bus a config describes (not yet initialised).
 *
 * @throws ZodError for an invalid config.
 * @example
 * const bus = createBus({ type: 'redis', url: 'redis://127.0.0.1:6379' });
 */
export function createBus(config: BusConfig): Bus {
  const parsed = BusConfigSchema.parse(config);
  switch (parsed.type) {
    case 'log':
      return createLogBus({ root: parsed.root });
    case 'redis':
      return createRedisBus({ url: parsed.url, keyPrefix: parsed.keyPrefix });
    case 'kafka':
      return createKafkaBus({
        brokers: parsed.brokers,
        ssl: parsed.ssl,
        sasl: parsed.sasl,
        topicPrefix: parsed.topicPrefix,
        idempotent: parsed.idempotent,
        partitions: parsed.partitions,
        consumerTiming:
          parsed.sessionTimeoutMs === undefined
            ? undefined
            : {
                sessionTimeoutMs: parsed.sessionTimeoutMs,
                // A third of the session at most, as Kafka advises; kafkajs's 3 s otherwise.
                heartbeatIntervalMs: Math.min(3_000, Math.floor(parsed.sessionTimeoutMs / 3)),
              },
      });
  }
}

/**
 * The bus from environment variables: `KAFKA_BROKERS` (comma-separated, with `KAFKA_SASL_MECHANISM`,
 * `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`, `KAFKA_SSL=true`, `KAFKA_IDEMPOTENT=false`, `KAFKA_PARTITIONS`, `KAFKA_SESSION_TIMEOUT_MS`) selects Kafka; else `SLATE_BUS_REDIS_URL`
 * or `REDIS_URL` selects Redis Streams; else the embedded log under `defaultRoot`.
 */
export function busConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  defaultRoot: string,
): BusConfig {
  if (env.KAFKA_BROKERS) {
    const mechanism = env.KAFKA_SASL_MECHANISM?.toLowerCase();
    return {
      type: 'kafka',
      brokers: env.KAFKA_BROKERS.split(',')
        .map((b) => b.trim())
        .filter(Boolean),
      ssl: env.KAFKA_SSL === 'true',
      sasl: mechanism
        ? {
            mechanism: mechanism as 'scram-sha-512',
            username: env.KAFKA_SASL_USERNAME ?? '',
            password: env.KAFKA_SASL_PASSWORD ?? '',
          }
        : undefined,
      topicPrefix: env.KAFKA_TOPIC_PREFIX || undefined,
      idempotent: env.KAFKA_IDEMPOTENT !== 'false',
      partitions: env.KAFKA_PARTITIONS ? Number(env.KAFKA_PARTITIONS) : undefined,
      sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS ? Number(env.KAFKA_SESSION_TIMEOUT_MS) : undefined,
    };
  }
  const redis = env.SLATE_BUS_REDIS_URL || env.REDIS_URL;
  if (redis) return { type: 'redis', url: redis, keyPrefix: env.SLATE_REDIS_KEY_PREFIX || undefined };
  return { type: 'log', root: defaultRoot };
}
