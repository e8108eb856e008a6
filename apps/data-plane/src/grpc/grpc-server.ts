import { createServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createContextValues } from '@connectrpc/connect';
import { createConnectHandler } from '@slate/grpc-api';
import type { Logger } from 'pino';
import type { QueryGateway } from '../gateway/query-gateway.ts';
import type { DataPlaneMetrics } from '../observability/data-plane-metrics.ts';
import { queryServiceRoutes } from './query-service.ts';
import { grpcClientIpKey, tokenRelayRoutes } from './token-relay-service.ts';

export interface GrpcServerOptions {
  /** The query path's front, shared with the HTTP server (same auth, caps and engines). */
  readonly gateway: QueryGateway;
  readonly logger: Logger;
  /** Largest accepted request message in bytes (default 10 MiB, the HTTP API's body limit); larger ones get RESOURCE_EXHAUSTED. */
  readonly maxRequestBytes?: number;
  /** Largest response message in bytes (default 64 MiB); a larger answer fails with RESOURCE_EXHAUSTED. */
  readonly maxResponseBytes?: number;
  /** Input rows one call may carry (default 50,000, as for HTTP). */
  readonly maxRowsPerRequest?: number;
  /** Queries one `OnlineQueryMulti` call may carry (default 64). */
  readonly maxQueriesPerMulti?: number;
  /** Streams one HTTP/2 connection may have open at once (default 256); more are refused by HTTP/2 flow control. */
  readonly maxConcurrentStreams?: number;
  readonly metrics?: DataPlaneMetrics;
  /**
   * The metadata plane's URL: when given, `chalk.server.v1.AuthService/GetToken` is relayed to its
   * `POST /v1/oauth/token` (as the HTTP API relays the exchange), so a gRPC client that knows only the
   * engine can authenticate. `grpc_engines` in the answer name this server's port at each engine's host.
   */
  readonly metadataPlaneUrl?: string;
}

export interface GrpcServer {
  /** Starts listening (h2c: TLS ends at the ingress, as for the HTTP API); resolves with the bound port. */
  listen(options: { port: number; host?: string }): Promise<number>;
  /** Stops accepting calls, lets calls in flight finish, then closes every connection. */
  close(): Promise<void>;
}

/**
 * The data plane's gRPC API: `chalk.engine.v1.QueryService` served with Connect for Node over HTTP/2,
 * speaking the gRPC, gRPC-Web and Connect protocols (the seed product's Go client uses Connect's gRPC
 * transport, its TS client grpc-js).
 *
 * @example
 * const grpc = createGrpcServer({ gateway, logger });
 * const port = await grpc.listen({ port: 4002, host: '0.0.0.0' });
 */
export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  let boundPort = 0;
  const queries = queryServiceRoutes({
    gateway: options.gateway,
    logger: options.logger,
    maxRows: options.maxRowsPerRequest ?? 50_000,
    maxQueriesPerMulti: options.maxQueriesPerMulti ?? 64,
    metrics: options.metrics,
  });
  const tokens =
    options.metadataPlaneUrl === undefined
      ? undefined
      : tokenRelayRoutes({
          metadataPlaneUrl: options.metadataPlaneUrl,
          // An IPv6 hostname keeps its brackets in `URL.hostname`.
          grpcEngineOf: (httpUrl) => `http://${new URL(httpUrl).hostname}:${boundPort}`,
        });
  const handler = createConnectHandler({
    routes: (router) => {
      queries(router);
      tokens?.(router);
    },
    contextValues: (request) =>
      createContextValues().set(grpcClientIpKey, request.socket?.remoteAddress ?? ''),
    readMaxBytes: options.maxRequestBytes ?? 10 * 1024 * 1024,
    writeMaxBytes: options.maxResponseBytes ?? 64 * 1024 * 1024,
    onResponseError: (err, method) => options.logger.warn({ err, method }, 'gRPC response failed'),
  });
  const server = createServer(
    { settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 256 } },
    handler,
  );
  const sessions = new Set<Http2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return {
    listen({ port, host }) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host ?? '127.0.0.1', () => {
          server.off('error', reject);
          boundPort = (server.address() as AddressInfo).port;
          resolve(boundPort);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        // Graceful: a GOAWAY lets open streams finish while refusing new ones on each connection.
        for (const session of sessions) session.close();
      });
    },
  };
}
