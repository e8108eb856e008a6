import type { GrpcFuzzTarget } from './grpc-fuzz.ts';
import { authServiceMethods, queryServiceMethods } from './grpc-fuzz-messages.ts';
import type { ProductionTargets } from './production-targets.ts';

/** The three gRPC surfaces of a production pair of planes, as fuzz targets. */
export interface GrpcFuzzTargets {
  /** The data plane's gRPC port: every `QueryService` method. */
  readonly dataPlane: GrpcFuzzTarget;
  /** The API host's gRPC port: `AuthService/GetToken` answered there, `QueryService` forwarded. */
  readonly apiHost: GrpcFuzzTarget;
  /** The API host's HTTP/1.1 port: `AuthService/GetToken` over Connect (the Go client's way) and gRPC-Web. */
  readonly apiHostHttp: GrpcFuzzTarget;
}

/** Every gRPC surface of `production`, with valid calls made from its service token. */
export function grpcFuzzTargets(production: ProductionTargets): GrpcFuzzTargets {
  const query = queryServiceMethods();
  const auth = authServiceMethods(production.credentials);
  const ping = query.find((method) => method.name === 'Ping')!;
  const common = { token: production.token } as const;
  return {
    dataPlane: {
      ...common,
      authority: production.grpcAuthority,
      transport: 'h2',
      methods: query,
      alive: ping,
    },
    apiHost: {
      ...common,
      authority: production.apiGrpcAuthority,
      transport: 'h2',
      methods: [...query, ...auth],
      alive: ping,
    },
    apiHostHttp: {
      ...common,
      authority: production.apiAuthority,
      transport: 'http1',
      methods: auth,
      alive: auth[0]!,
    },
  };
}
