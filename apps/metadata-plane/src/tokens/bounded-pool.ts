import { SlateError } from '@slate/graph';

/** Runs expensive work (password hashing) with bounded concurrency and a bounded queue. */
export interface BoundedPool {
  /**
   * Runs `work` when a slot is free. Waits in the queue when every slot is busy.
   *
   * @throws SlateError('unavailable', code) at once when the queue is full (nothing is started).
   */
  run<T>(work: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly queued: number;
}

export interface BoundedPoolOptions {
  /** Work items running at once. */
  readonly concurrency: number;
  /** Items waiting for a slot; one more is refused. */
  readonly maxQueue: number;
  /** Stable code of the refusal (e.g. `TOKEN_ENDPOINT_BUSY`). */
  readonly busyCode: string;
  /** Message of the refusal. */
  readonly busyMessage: string;
}

/**
 * Creates a pool. Full queue → the caller is refused at once (shed, not buffered), with
 * `details.retryAfterSeconds: 1`, so load beyond what the pool drains never becomes memory or latency.
 *
 * @example
 * const pool = createBoundedPool({ concurrency: 2, maxQueue: 32, busyCode: 'BUSY', busyMessage: 'busy' });
 * const ok = await pool.run(() => verify(hash, secret));
 */
export function createBoundedPool(options: BoundedPoolOptions): BoundedPool {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return {
    async run(work) {
      if (active >= options.concurrency) {
        if (waiting.length >= options.maxQueue) {
          throw new SlateError('unavailable', options.busyCode, options.busyMessage, {
            retryAfterSeconds: 1,
          });
        }
        // The slot is handed over by `release` (active stays counted), so no one can jump the queue.
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        active++;
      }
      try {
        return await work();
      } finally {
        release();
      }
    },
    get active() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
  };
}
