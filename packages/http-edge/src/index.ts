export {
  type ErrorBody,
  type ErrorMapperOptions,
  formatPath,
  type HttpError,
  INTERNAL_CODE,
  toHttpError,
} from './error-mapper.ts';
export { httpStatusOf } from './http-status.ts';
export { type EdgeOptions, installEdge, sendHttpError } from './install-edge.ts';
export { createRedactingLogger, LOG_REDACT_PATHS, LOG_REDACTION, REDACTED } from './log-redaction.ts';
export {
  assertMetricsPort,
  createMetricsServer,
  createProcessMetrics,
  DEFAULT_METRICS_PORT,
} from './metrics-listener.ts';
export { findNul, MAX_INPUT_DEPTH, refuseNul } from './nul-guard.ts';
export {
  API_CONTENT_SECURITY_POLICY,
  HTML_CONTENT_SECURITY_POLICY,
  SECURITY_HEADERS,
  securityHeadersFor,
} from './security-headers.ts';
export {
  type StackTraceMode,
  StackTraceModeSchema,
  stackForWire,
  stackTraceModeFromEnv,
} from './stack-traces.ts';
export { TRUNCATION_MARK, truncate, truncatedText } from './truncated-text.ts';
