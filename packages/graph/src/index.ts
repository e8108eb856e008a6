export { type ErrorKind, httpStatusOf, SlateError } from './errors.ts';
export * from './graph-artifact.ts';
