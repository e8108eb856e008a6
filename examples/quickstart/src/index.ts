export { Transaction, User } from './features.ts';
export * from './pipelines.ts';
export * from './resolvers.ts';
