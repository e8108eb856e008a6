import { createConnection } from 'node:net';

/**
 * Where the machine's real services are, for integration tests. `.ci/run` exports these; the defaults are
 * the ports the development machines use. Read once here so suites never reach for ambient env themselves.
 */
export interface TestServices {
  readonly postgresUrl: string;
  readonly redisUrl: string;
  /** MySQL or MariaDB, for the MySQL data source. */
  readonly mysqlUrl: string;
}

export const testServices: TestServices = {
  postgresUrl: process.env.SLATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  redisUrl: process.env.SLATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  mysqlUrl: process.env.SLATE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
};

/**
 * True when the tests run under CI (`CI` set, and not `false` or `0`, as CI services and `.ci/run` set it).
 * CI starts every service a suite needs, so there a missing one is a broken run, never a smaller one.
 */
export const underCi = ['', 'false', '0'].includes(process.env.CI ?? '') === false;

/**
 * True when a TCP connection to the URL's host and port opens within `timeoutMs`. A plain probe: suites
 * that need a service use {@link requireService}, which refuses to skip under CI.
 */
export async function isReachable(url: string, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const defaultPort = url.startsWith('redis') ? 6379 : url.startsWith('mysql') ? 3306 : 5432;
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Passes on why a suite cannot run on this machine (`undefined` when it can). Outside CI the suite then
 * skips, naming that reason; under CI ({@link underCi}) this throws instead, so the suite fails to load and
 * the run fails.
 *
 * @throws Error under CI, when `reason` is defined.
 * @example
 * const unavailable = unlessCi(kafkaMockClusterUnavailable());
 * describe.skipIf(unavailable !== undefined)('Kafka bus', () => {});
 */
export function unlessCi(reason: string | undefined): string | undefined {
  if (reason !== undefined && underCi) {
    throw new Error(
      `${reason}. Under CI every service must run: start it (see .ci/run) instead of skipping.`,
    );
  }
  return reason;
}

/**
 * Whether the named service answers at `url`: `true`, or `false` so the suite skips visibly, or — under CI
 * — an error that fails the suite (see {@link unlessCi}).
 *
 * @example
 * const reachable = await requireService('Redis', testServices.redisUrl);
 * describe.skipIf(!reachable)('createRedisOnlineStore (Redis)', () => {});
 */
export async function requireService(name: string, url: string): Promise<boolean> {
  const reachable = await isReachable(url);
  unlessCi(reachable ? undefined : `${name} is not reachable at ${redactUrl(url)}`);
  return reachable;
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
