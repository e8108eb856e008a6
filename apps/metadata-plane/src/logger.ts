import { createRedactingLogger } from '@slate/http-edge';
import type { Logger } from 'pino';

/** The metadata plane's default logger: JSON to stdout, with Slate's one redaction list. */
export function createLogger(level = 'info'): Logger {
  return createRedactingLogger({ level });
}
