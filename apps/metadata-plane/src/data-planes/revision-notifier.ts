import { EventEmitter } from 'node:events';

/**
 * Wakes in-process long polls when a data plane's revision changes. Only a hint: waiters re-read the
 * revision from the database, and also wake on a short interval so changes made by other replicas are
 * seen without cross-process signalling.
 */
export interface RevisionNotifier {
  notify(dataPlaneId: string): void;
  /** Resolves after `ms`, on `notify(dataPlaneId)`, or when `signal` aborts — whichever comes first. */
  wait(dataPlaneId: string, ms: number, signal?: AbortSignal): Promise<void>;
  /** Releases every waiter (on shutdown). */
  close(): void;
}

export function createRevisionNotifier(): RevisionNotifier {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  return {
    notify: (dataPlaneId) => {
      events.emit(dataPlaneId);
    },
    wait: (dataPlaneId, ms, signal) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          events.off(dataPlaneId, done);
          events.off('close', done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        events.once(dataPlaneId, done);
        events.once('close', done);
        if (signal?.aborted) done();
        else signal?.addEventListener('abort', done, { once: true });
      }),
    close: () => {
      events.emit('close');
    },
  };
}
