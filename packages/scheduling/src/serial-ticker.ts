/** A pass run now and again, one at a time: what both planes' schedulers are. */
export interface SerialTicker<T> {
  /** Runs a pass after any in progress; resolves with its result (or its error). */
  tick(): Promise<T>;
  /** Runs a pass every `intervalMs` (queued behind the one in progress) until `stop`. */
  start(): void;
  /** Stops the timer and waits for the pass in progress. */
  stop(): Promise<void>;
}

/**
 * Serializes `pass`: a manual `tick` and the timer's passes never overlap. A timer pass that fails is
 * reported to `onError` and the next one goes on.
 *
 * @example
 * const ticker = createSerialTicker(() => fireDue(), { intervalMs: 1_000, onError: (e) => log.warn(e) });
 * ticker.start();
 */
export function createSerialTicker<T>(
  pass: () => Promise<T>,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): SerialTicker<T> {
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<unknown> = Promise.resolve();
  return {
    tick() {
      const result = ticking.then(pass);
      ticking = result.catch(() => undefined);
      return result;
    },
    start() {
      if (timer) return;
      timer = setInterval(() => {
        ticking = ticking.then(pass).catch((error: unknown) => options.onError?.(error));
      }, options.intervalMs ?? 1_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await ticking;
    },
  };
}
