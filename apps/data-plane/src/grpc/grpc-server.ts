import {
  constants,
  createServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, createConnectRouter } from '@connectrpc/connect';
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from '@connectrpc/connect-node';
import type { Logger } from 'pino';
import type { QueryGateway } from '../gateway/query-gateway.ts';
import type { DataPlaneMetrics } from '../observability/data-plane-metrics.ts';
import { dropUnboundedDeadlines, fixUniversalResponse } from './grpc-wire-fixes.ts';
import { queryServiceRoutes } from './query-service.ts';

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
  // Connect's router with a small adapter of our own (what `connectNodeAdapter` does), so that every
  // response passes `fixUniversalResponse` whatever the protocol: see grpc-wire-fixes.ts.
  const router = createConnectRouter({
    readMaxBytes: options.maxRequestBytes ?? 10 * 1024 * 1024,
    writeMaxBytes: options.maxResponseBytes ?? 64 * 1024 * 1024,
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  queryServiceRoutes({
    gateway: options.gateway,
    logger: options.logger,
    maxRows: options.maxRowsPerRequest ?? 50_000,
    maxQueriesPerMulti: options.maxQueriesPerMulti ?? 64,
    metrics: options.metrics,
  })(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  const handle = (request: Http2ServerRequest, response: Http2ServerResponse) => {
    const handler = handlers.get(request.url.split('?', 2)[0] ?? '');
    if (!handler) {
      response.writeHead(404);
      response.end();
      return;
    }
    dropUnboundedDeadlines(request.headers);
    handler(universalRequestFromNodeRequest(request, response, undefined, undefined))
      .then(fixUniversalResponse)
      .then((answer) => universalResponseToNodeResponse(answer, response))
      .catch((reason: unknown) => {
        // A response that failed half-written would leave the caller waiting: reset its stream.
        if (!response.stream.closed) response.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        // Aborted: the caller went away mid-answer, nothing to report.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        options.logger.warn({ err: reason, method: handler.method.name }, 'gRPC response failed');
      });
  };
  const server = createServer(
    { settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 256 } },
    handle,
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
          resolve((server.address() as AddressInfo).port);
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
