import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

/** A running librdkafka mock cluster. */
export interface KafkaMockCluster {
  /** Its brokers' `host:port` addresses (loopback), for any Kafka client's bootstrap list. */
  readonly brokers: readonly string[];
  /** Stops the cluster and its process; idempotent. Topics and group offsets are lost. */
  stop(): Promise<void>;
}

export interface KafkaMockClusterOptions {
  /** How many brokers the cluster has. Default 3. */
  readonly brokers?: number;
  /** How long to wait for the cluster to come up. Default 30 s. */
  readonly timeoutMs?: number;
}

const PACKAGE = '@confluentinc/kafka-javascript';
const repoRoot = new URL('../../../', import.meta.url).pathname;
const childEntry = new URL('./kafka-mock-cluster-child.ts', import.meta.url).pathname;

/**
 * Why `startKafkaMockCluster` cannot run here, or `undefined` when it can. The mock comes with
 * `@confluentinc/kafka-javascript`, a root optional dependency that only builds where librdkafka's
 * build dependencies are installed and `CKJS_LINKING=dynamic` is set (see `.ci/run` and ADR 0002);
 * suites skip with this reason elsewhere.
 *
 * @example
 * const reason = kafkaMockClusterUnavailable();
 * describe.skipIf(reason !== undefined)('Kafka bus on the mock cluster', () => {});
 */
export function kafkaMockClusterUnavailable(): string | undefined {
  try {
    createRequire(import.meta.url).resolve(PACKAGE);
    return undefined;
  } catch {
    return (
      `${PACKAGE} (an optional dependency) is not installed: install the apt packages listed in .ci/run, ` +
      'then run `CKJS_LINKING=dynamic npm ci`'
    );
  }
}

/**
 * Starts librdkafka's mock Kafka cluster (the one `test.mock.num.brokers` enables) in a child process
 * and resolves once its brokers accept connections. It speaks the real Kafka protocol over loopback
 * (produce, fetch, list offsets, consumer groups, offset commits, idempotent producers); topics are
 * auto-created with 4 partitions. It has no CreateTopics, DescribeGroups or SASL support, and keeps
 * everything in memory. The child exits when `stop` is called or when this process goes away (its stdin
 * closes), so a crashed test run leaves nothing behind.
 *
 * @throws Error when the optional dependency is missing (check `kafkaMockClusterUnavailable` first), the
 *   child fails to start, or it is not up within `timeoutMs`.
 * @example
 * const cluster = await startKafkaMockCluster();
 * const bus = createKafkaBus({ brokers: cluster.brokers });
 * // …
 * await cluster.stop();
 */
export async function startKafkaMockCluster(
  options: KafkaMockClusterOptions = {},
): Promise<KafkaMockCluster> {
  const unavailable = kafkaMockClusterUnavailable();
  if (unavailable) throw new Error(unavailable);
  const child = spawn(process.execPath, ['--import', 'tsx', childEntry, String(options.brokers ?? 3)], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const brokers = await readBrokers(child, exited, () => stderr, options.timeoutMs ?? 30_000);
    let stopped: Promise<void> | undefined;
    return {
      brokers,
      stop: () => {
        stopped ??= stopChild(child, exited);
        return stopped;
      },
    };
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
}

function readBrokers(
  child: ChildProcess,
  exited: Promise<void>,
  stderr: () => string,
  timeoutMs: number,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(
      () => reject(new Error(`kafka mock cluster not up after ${timeoutMs} ms: ${stderr()}`)),
      timeoutMs,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      try {
        const { brokers } = JSON.parse(line) as { brokers: unknown };
        if (!Array.isArray(brokers) || brokers.length === 0) throw new Error(`no brokers in ${line}`);
        resolve(brokers.map(String));
      } catch (error) {
        reject(error);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`kafka mock cluster exited with code ${child.exitCode}: ${stderr()}`));
    });
  });
}

/** Closes the child's stdin (it disconnects and exits); SIGKILLs it if it has not gone within 5 s. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
