import http2, { type ClientHttp2Session } from 'node:http2';
import { SlateError } from '@slate/graph';

/** HTTP/2 connections to data-plane gRPC servers, one per origin, shared by every call to that origin. */
export interface H2SessionPool {
  /**
   * A connected session to `origin` (`http://host:port`; h2c). A session that is closing, closed or
   * destroyed is replaced.
   *
   * @throws SlateError `DATA_PLANE_UNAVAILABLE` (unavailable) when the connection cannot be made within
   *   `connectTimeoutMs`, with `details.connectFailed: true` (nothing was sent: the call may go elsewhere).
   */
  session(origin: string): Promise<ClientHttp2Session>;
  /** Closes every session (calls in flight finish; new ones are refused). */
  close(): void;
}

export interface H2SessionPoolOptions {
  /** Origins kept connected at once (default 256); when full, the least recently opened one is closed gracefully. */
  readonly maxSessions?: number;
  /** How long a connection may take (default 5 s). */
  readonly connectTimeoutMs?: number;
}

/**
 * One multiplexed HTTP/2 connection per data-plane instance: gRPC calls share it (the data plane caps the
 * streams one connection may hold; beyond that the peer queues, which is HTTP/2 flow control, not memory
 * here). A session that errors or receives GOAWAY is dropped from the pool; the next call reconnects.
 *
 * @example
 * const pool = createH2SessionPool();
 * const session = await pool.session('http://10.0.0.7:4002');
 */
export function createH2SessionPool(options: H2SessionPoolOptions = {}): H2SessionPool {
  const maxSessions = options.maxSessions ?? 256;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const sessions = new Map<string, Promise<ClientHttp2Session>>();

  // `forget` runs only after the promise is stored (every event is asynchronous to `connect`).
  const open = (origin: string, forget: () => void): Promise<ClientHttp2Session> =>
    new Promise((resolve, reject) => {
      const session = http2.connect(origin);
      const timer = setTimeout(() => {
        session.destroy();
        fail(new Error(`no connection within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        forget();
        reject(
          new SlateError(
            'unavailable',
            'DATA_PLANE_UNAVAILABLE',
            `the data plane's gRPC server at ${origin} could not be reached: ${error.message}`,
            { connectFailed: true, retryAfterS: 1 },
          ),
        );
      };
      session.once('error', fail);
      session.once('connect', () => {
        clearTimeout(timer);
        session.off('error', fail);
        // Errors after connecting end the session's calls (each sees its stream fail); the pool forgets it.
        session.on('error', forget);
        session.once('goaway', forget);
        session.once('close', forget);
        // An idle connection must not keep the process alive.
        session.unref();
        resolve(session);
      });
    });

  return {
    async session(origin) {
      const existing = sessions.get(origin);
      if (existing) {
        const session = await existing.catch(() => undefined);
        if (session && !session.closed && !session.destroyed) return session;
        if (sessions.get(origin) === existing) sessions.delete(origin);
      }
      if (sessions.size >= maxSessions) {
        const [oldest] = sessions.keys();
        if (oldest !== undefined) {
          const dropped = sessions.get(oldest);
          sessions.delete(oldest);
          void dropped?.then((s) => s.close()).catch(() => {});
        }
      }
      const opened: Promise<ClientHttp2Session> = open(origin, () => {
        if (sessions.get(origin) === opened) sessions.delete(origin);
      });
      sessions.set(origin, opened);
      return opened;
    },
    close() {
      for (const pending of sessions.values()) void pending.then((s) => s.close()).catch(() => {});
      sessions.clear();
    },
  };
}
