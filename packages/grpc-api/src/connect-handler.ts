import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createConnectRouter,
} from '@connectrpc/connect';
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from '@connectrpc/connect-node';
import { dropUnboundedDeadlines, fixUniversalResponse } from './grpc-wire-fixes.ts';

/** Node's request handler for HTTP/2 (`http2.createServer`) or HTTP/1.1 (the Connect protocol on an HTTP port). */
export type NodeConnectHandler = (
  request: Http2ServerRequest | IncomingMessage,
  response: Http2ServerResponse | ServerResponse,
) => void;

export interface ConnectHandlerOptions {
  /** Registers the services this handler answers. */
  readonly routes: (router: ConnectRouter) => void;
  /** Per-call values the services read (the caller's address, say). */
  readonly contextValues?: (request: Http2ServerRequest | IncomingMessage) => ContextValues;
  readonly readMaxBytes: number;
  readonly writeMaxBytes?: number;
  /** Told when a response fails after it started (the call is reset); an abort by the caller is not. */
  readonly onResponseError: (error: unknown, method: string) => void;
}

/**
 * Connect's router behind an adapter of Slate's own (what `connectNodeAdapter` does, plus the wire fixes),
 * shared by every Slate gRPC server: every response passes `fixUniversalResponse` whatever the protocol
 * (gRPC, gRPC-Web, Connect), deadlines too long for a timer are dropped, and a response that fails
 * half-written resets its stream instead of leaving the caller waiting. Unknown paths answer 404.
 *
 * @example
 * const handle = createConnectHandler({ routes: queryServiceRoutes(deps), readMaxBytes: 10 << 20, onResponseError });
 * http2.createServer(handle);
 */
export function createConnectHandler(options: ConnectHandlerOptions): NodeConnectHandler {
  const router = createConnectRouter({
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  options.routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  return (request, response) => {
    const handler = handlers.get((request.url ?? '').split('?', 2)[0] ?? '');
    if (!handler) {
      response.writeHead(404);
      response.end();
      return;
    }
    dropUnboundedDeadlines(request.headers);
    const universal = universalRequestFromNodeRequest(
      request,
      response,
      undefined,
      options.contextValues?.(request),
    );
    handler(universal)
      .then(fixUniversalResponse)
      .then((answer) => universalResponseToNodeResponse(answer, response))
      .catch((reason: unknown) => {
        if ('stream' in response) {
          if (!response.stream.closed) response.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        } else if (!response.writableFinished) response.destroy();
        if (ConnectError.from(reason).code === Code.Aborted) return;
        options.onResponseError(reason, handler.method.name);
      });
  };
}
