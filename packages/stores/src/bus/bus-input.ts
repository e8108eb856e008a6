import { SlateError } from '@slate/graph';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Throws `INVALID_TOPIC` unless `name` is a usable topic or group name (letters, digits, `.`, `_`, `-`). */
export function checkBusName(name: string, what: 'topic' | 'group' | 'consumer'): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new SlateError(
      'input',
      'INVALID_TOPIC',
      `invalid ${what} name ${JSON.stringify(name)}: use 1-200 letters, digits, '.', '_' or '-'`,
    );
  }
}

/** Throws `INVALID_MESSAGE` unless every message has a string key and value. */
export function checkMessages(messages: readonly { key: unknown; value: unknown }[]): void {
  for (const message of messages) {
    if (typeof message.key !== 'string' || typeof message.value !== 'string') {
      throw new SlateError('input', 'INVALID_MESSAGE', 'a message needs a string key and a string value');
    }
  }
}

export function busClosed(): SlateError {
  return new SlateError('unavailable', 'BUS_CLOSED', 'the bus is closed');
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function waitFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
