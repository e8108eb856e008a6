import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createContextValues } from '@connectrpc/connect';
import { createConnectHandler } from '@slate/grpc-api';
import type { Logger } from 'pino';
import type { MetadataPlaneContext } from '../context.ts';
import type { DataPlaneTargets } from '../forwarding/data-plane-targets.ts';
import { createGrpcForwarder, type GrpcForwarder } from '../forwarding/grpc-forwarder.ts';
import { createH2SessionPool } from '../forwarding/h2-session-pool.ts';
import { authServiceRoutes, clientIpKey } from './auth-service.ts';

/** The gRPC service the API host forwards (every method, by path prefix). */
const FORWARDED_PREFIX = '/chalk.engine.v1.QueryService/';

export interface MetadataGrpcServerOptions {
  readonly ctx: Pick<MetadataPlaneContext, 'db' | 'keys' | 'clientSecrets' | 'apiServer' | 'now'>;
  readonly targets: DataPlaneTargets;
  /** The gRPC origin (`http://host:port`) of a data-plane instance, from its HTTP base URL. */
  readonly grpcOriginOf: (httpUrl: string) => string;
  readonly logger: Logger;
  /** Forwarded calls in flight at once (default 1,024); more get RESOURCE_EXHAUSTED. */
  readonly maxInFlight?: number;
  /** Streams one client connection may have open (default 256); more wait in HTTP/2 flow control. */
  readonly maxConcurrentStreams?: number;
  /** Largest `GetToken` request in bytes (default 64 KiB). */
  readonly maxTokenRequestBytes?: number;
}

export interface MetadataGrpcServer {
  /** Starts listening (h2c: TLS ends at the ingress); resolves with the bound port. */
  listen(options: { port: number; host?: string }): Promise<number>;
  /** Stops accepting calls, lets calls in flight finish, then closes every connection. */
  close(): Promise<void>;
  readonly forwarder: GrpcForwarder;
  /**
   * `AuthService/GetToken` for an HTTP/1.1 request on the API's own port: the seed product's Go client
   * calls it there with the Connect protocol (its auth client sets no gRPC option), at `api_server`.
   */
  serveConnect(request: IncomingMessage, response: ServerResponse): void;
}

/**
 * The API host's gRPC port: `chalk.server.v1.AuthService/GetToken` answered here, and every
 * `chalk.engine.v1.QueryService` call forwarded to the data plane of the token's environment (ADR 0013).
 * Its own port, because a cleartext HTTP/2 (h2c) listener cannot also serve the HTTP/1.1 API.
 *
 * @example
 * const grpc = createMetadataGrpcServer({ ctx, targets, grpcOriginOf: (url) => url.replace(/:\d+$/, ':4002'), logger });
 * await grpc.listen({ port: 4003 });
 */
export function createMetadataGrpcServer(options: MetadataGrpcServerOptions): MetadataGrpcServer {
  const pool = createH2SessionPool();
  const forwarder = createGrpcForwarder({
    verify: (token) => options.ctx.keys.verify(token),
    targets: options.targets,
    grpcOriginOf: options.grpcOriginOf,
    pool,
    logger: options.logger,
    maxInFlight: options.maxInFlight,
  });
  const local = createConnectHandler({
    routes: authServiceRoutes({
      ctx: options.ctx,
      grpcEngineOf: options.grpcOriginOf,
      logger: options.logger,
    }),
    readMaxBytes: options.maxTokenRequestBytes ?? 64 * 1024,
    contextValues: (request) => createContextValues().set(clientIpKey, request.socket?.remoteAddress ?? ''),
    onResponseError: (err, method) => options.logger.warn({ err, method }, 'gRPC response failed'),
  });
  const server = createServer(
    { settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 256 } },
    (request, response) => {
      if (request.url.startsWith(FORWARDED_PREFIX)) forwarder.handle(request, response);
      else local(request, response);
    },
  );
  const sessions = new Set<Http2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return {
    forwarder,
    serveConnect: (request, response) => local(request, response),
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
        const done = () => {
          pool.close();
          resolve();
        };
        if (!server.listening) return done();
        server.close(() => done());
        for (const session of sessions) session.close();
      });
    },
  };
}

/**
 * The default mapping from a data-plane instance's HTTP base URL to its gRPC origin: same host, the
 * data plane's gRPC port (`SLATE_GRPC_PORT` there, `SLATE_DATA_PLANE_GRPC_PORT` here; 4002 by default).
 * Instances register only their HTTP URL, so the port is a convention of the installation.
 *
 * @example
 * grpcOriginWithPort(4002)('http://10.0.0.7:4001'); // 'http://10.0.0.7:4002'
 */
export function grpcOriginWithPort(port: number): (httpUrl: string) => string {
  return (httpUrl) => {
    // An IPv6 hostname keeps its brackets in `URL.hostname`.
    return `http://${new URL(httpUrl).hostname}:${port}`;
  };
}
