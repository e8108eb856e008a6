export { type Duration, parseDuration } from './duration.ts';
export { type ErrorKind, httpStatusOf, SlateError } from './errors.ts';
export * from './graph-artifact.ts';
export { type LintIssue, lintGraph } from './lint-graph.ts';
