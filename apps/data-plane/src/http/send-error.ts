import { type ErrorMapperOptions, sendHttpError } from '@slate/http-edge';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Paths whose 4xx bodies also carry the seed product's `errors` list (clients read it there). */
const queryLikePaths = ['/v1/query/', '/v1/upload', '/v1/features/'];

/**
 * How the data plane's errors are shaped by the shared mapper (`@slate/http-edge`): query paths call a
 * request that fails its schema `INVALID_QUERY`, and query and upload paths also list the error in the seed
 * product's `errors` (chalk.md §3.4).
 */
export function dataPlaneErrorOptions(request: FastifyRequest): ErrorMapperOptions {
  return {
    invalidCode: request.url.startsWith('/v1/query/') ? 'INVALID_QUERY' : undefined,
    queryErrors: queryLikePaths.some((path) => request.url.startsWith(path)),
  };
}

/** Answers `error` as every data-plane route does (for handlers that answer outside fastify's error path). */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendHttpError(error, request, reply, { errorOptions: dataPlaneErrorOptions, logRefusals: false });
}
