import type { ResultMessage } from '../result-message.ts';

/** A result message with the id of the bus message that carried it (the idempotency key). */
export interface ReceivedResult {
  readonly id: string;
  readonly message: ResultMessage;
}

/**
 * One background-persistence writer (the seed product's ONLINE_WRITER, OFFLINE_WRITER, ...): persists its
 * part of a batch of result messages. Must be idempotent by message id: a batch may be handed over again,
 * whole or regrouped, after a crash.
 */
export interface PersistenceWriter {
  readonly name: string;
  write(batch: readonly ReceivedResult[], signal?: AbortSignal): Promise<void>;
}
