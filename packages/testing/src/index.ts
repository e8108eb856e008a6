export {
  type KafkaMockCluster,
  type KafkaMockClusterOptions,
  kafkaMockClusterUnavailable,
  startKafkaMockCluster,
} from './kafka-mock-cluster.ts';
export { type KafkaMockFront, type KafkaMockFrontOptions, startKafkaMockFront } from './kafka-mock-front.ts';
export {
  failingOnnxModel,
  type LinearModelOptions,
  linearOnnxModel,
  type MlpModelOptions,
  mlpOnnxModel,
} from './onnx-models.ts';
export {
  type OtlpReceiver,
  type ReceivedExport,
  type ReceivedSpan,
  startOtlpReceiver,
} from './otlp-receiver.ts';
export { freePort } from './ports.ts';
export {
  type OwnRedisServer,
  type RedisServerOptions,
  redisServerUnavailable,
  startRedisServer,
} from './redis-server.ts';
export {
  isReachable,
  requireService,
  type TestServices,
  testServices,
  underCi,
  unlessCi,
} from './services.ts';
export { helmBinary } from './tools.ts';
