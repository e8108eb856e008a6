import { SlateError } from '@slate/graph';
import type { FastifyInstance } from 'fastify';
import { sendError } from './send-error.ts';

/** Largest token-exchange body relayed (a client id and secret are far smaller). */
const MAX_TOKEN_BODY_BYTES = 16 * 1024;

/**
 * `POST /v1/oauth/token` on the data plane, relayed to the metadata plane that issues tokens, so a client
 * pointed only at the engine can still authenticate. The body is small and bounded (16 KiB), so it is read
 * whole; the metadata plane's answer (status, body, content type, `Retry-After`) comes back unchanged, and
 * its rate limits see the caller's address in `X-Forwarded-For`. No credentials are logged or kept here.
 *
 * @example
 * await app.register(tokenRelay({ metadataPlaneUrl: 'http://127.0.0.1:4000', timeoutMs: 10_000 }));
 */
export function tokenRelay(options: { readonly metadataPlaneUrl: string; readonly timeoutMs?: number }) {
  const target = `${options.metadataPlaneUrl.replace(/\/$/, '')}/v1/oauth/token`;
  return async (scope: FastifyInstance): Promise<void> => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_TOKEN_BODY_BYTES },
      (_r, body, done) => done(null, body),
    );
    scope.post('/v1/oauth/token', { config: { public: true } }, async (request, reply) => {
      let answer: Response;
      try {
        answer = await fetch(target, {
          method: 'POST',
          headers: {
            'content-type': String(request.headers['content-type'] ?? 'application/json'),
            'x-forwarded-for': request.ip,
          },
          body: request.body instanceof Uint8Array ? request.body : undefined,
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
      } catch (error) {
        return sendError(
          new SlateError(
            'unavailable',
            'METADATA_PLANE_UNAVAILABLE',
            'the metadata plane that issues tokens could not be reached: retry, or exchange the token at api_server',
            { retryAfterS: 1 },
            { cause: error },
          ),
          request,
          reply,
        );
      }
      const retryAfter = answer.headers.get('retry-after');
      if (retryAfter) reply.header('retry-after', retryAfter);
      return reply
        .code(answer.status)
        .type(answer.headers.get('content-type') ?? 'application/json')
        .send(Buffer.from(await answer.arrayBuffer()));
    });
  };
}
