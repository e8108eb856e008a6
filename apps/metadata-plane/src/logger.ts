import { type Logger, pino } from 'pino';

/**
 * Paths pino blanks out. Fastify's request serializer logs no headers or bodies, so these are a second
 * line of defence for anything that logs a request, response or payload object by hand.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
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
];

/** The metadata plane's default logger: JSON to stdout, secrets redacted. */
export function createLogger(level = 'info'): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}
