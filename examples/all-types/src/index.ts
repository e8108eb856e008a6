export { Customer, Purchase, Store } from './features.ts';
export * from './resolvers.ts';
