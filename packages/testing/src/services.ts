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
 * True when a TCP connection to the URL's host and port opens within `timeoutMs`. Integration suites skip
 * (visibly) when their service is absent; CI starts every service, so there they always run.
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
