export { Transaction, User } from './features.ts';
export * from './resolvers.ts';
