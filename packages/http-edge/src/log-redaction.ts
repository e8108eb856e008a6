import { type Logger, type LoggerOptions, pino } from 'pino';

/**
 * The one list of paths every Slate logger blanks out (metadata plane, data plane, persistence worker,
 * stream consumers, `slate up`). Fastify's request serializer logs no headers or bodies, so these are a
 * second line of defence for anything that logs a request, response, config or payload object by hand.
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  '*.authorization',
  'cookie',
  'client_secret',
  '*.client_secret',
  'clientSecret',
  '*.clientSecret',
  'access_token',
  '*.access_token',
  'token',
  '*.token',
  'registrationToken',
  '*.registrationToken',
  'registration_token',
  '*.registration_token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'secrets',
  '*.secrets',
];

/** What redacted values are replaced with. */
export const REDACTED = '[redacted]';

/** pino's `redact` option for `LOG_REDACT_PATHS` (for a logger built elsewhere, or a child). */
export const LOG_REDACTION: NonNullable<LoggerOptions['redact']> = {
  paths: [...LOG_REDACT_PATHS],
  censor: REDACTED,
};

/**
 * A JSON logger with `LOG_REDACT_PATHS` redacted: the only way Slate's processes make their root logger.
 * Defaults to level `info` on stdout.
 *
 * @example
 * const logger = createRedactingLogger({ name: 'data-plane', level: 'debug' });
 */
export function createRedactingLogger(
  options: Omit<LoggerOptions, 'redact'> = {},
  destination?: Parameters<typeof pino>[1],
): Logger {
  return destination === undefined
    ? pino({ level: 'info', ...options, redact: LOG_REDACTION })
    : pino({ level: 'info', ...options, redact: LOG_REDACTION }, destination);
}
