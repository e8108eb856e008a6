export { freePort } from './ports.ts';
export { isReachable, type TestServices, testServices } from './services.ts';
