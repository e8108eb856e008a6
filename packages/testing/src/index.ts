export {
  type KafkaMockCluster,
  type KafkaMockClusterOptions,
  kafkaMockClusterUnavailable,
  startKafkaMockCluster,
} from './kafka-mock-cluster.ts';
export { freePort } from './ports.ts';
export { isReachable, type TestServices, testServices } from './services.ts';
export { helmBinary } from './tools.ts';
