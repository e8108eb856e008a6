import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type ConnectRouter, createContextKey } from '@connectrpc/connect';
import { AuthService, GetTokenResponseSchema } from '@slate/grpc-api';
import { z } from 'zod';

/** The caller's address, set per request by the server (the metadata plane's per-IP limit sees it). */
export const grpcClientIpKey = createContextKey<string>('', { description: 'client IP' });

/** The metadata plane's `POST /v1/oauth/token` answer (chalk.md §3.2). */
const TokenAnswerSchema = z.object({
  access_token: z.string(),
  token_type: z.string(),
  expires_in: z.number().int(),
  api_server: z.string(),
  primary_environment: z.string().optional(),
  engines: z.record(z.string(), z.string()).default({}),
  environment_id_to_name: z.record(z.string(), z.string()).default({}),
});

/** Its error body (`detail`, as the seed product's server writes it). */
const ErrorAnswerSchema = z.object({ detail: z.string().optional(), message: z.string().optional() });

/** The gRPC status of each HTTP status the token endpoint answers with. */
const codeByHttpStatus: Readonly<Record<number, Code>> = {
  400: Code.InvalidArgument,
  401: Code.Unauthenticated,
  403: Code.PermissionDenied,
  413: Code.ResourceExhausted,
  422: Code.InvalidArgument,
  429: Code.ResourceExhausted,
  503: Code.Unavailable,
};

export interface TokenRelayServiceOptions {
  /** The metadata plane that issues tokens. */
  readonly metadataPlaneUrl: string;
  /** The gRPC address of the engine whose HTTP URL is given (`grpc_engines` in the answer). */
  readonly grpcEngineOf: (httpUrl: string) => string;
  /** How long the metadata plane may take (default 10 s); then UNAVAILABLE. */
  readonly timeoutMs?: number;
}

/**
 * `chalk.server.v1.AuthService/GetToken` on the data plane's gRPC port, relayed to the metadata plane's
 * `POST /v1/oauth/token` (as the HTTP API relays it), so a gRPC client pointed only at the engine can
 * authenticate. The metadata plane applies its checks and limits (seeing the caller's address in
 * `X-Forwarded-For`); its refusals come back as gRPC statuses with its message (401 → UNAUTHENTICATED,
 * 429 → RESOURCE_EXHAUSTED with `retry-after`, …). Credentials are neither logged nor kept.
 *
 * @example
 * connectNodeAdapter({ routes: tokenRelayRoutes({ metadataPlaneUrl, grpcEngineOf: () => '127.0.0.1:4002' }) });
 */
export function tokenRelayRoutes(options: TokenRelayServiceOptions): (router: ConnectRouter) => void {
  const target = `${options.metadataPlaneUrl.replace(/\/$/, '')}/v1/oauth/token`;
  return (router) =>
    router.service(AuthService, {
      async getToken(request, context) {
        let answer: Response;
        try {
          answer = await fetch(target, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-forwarded-for': context.values.get(grpcClientIpKey),
            },
            body: JSON.stringify({
              client_id: request.clientId,
              client_secret: request.clientSecret,
              grant_type: request.grantType,
            }),
            signal: AbortSignal.any([context.signal, AbortSignal.timeout(options.timeoutMs ?? 10_000)]),
          });
        } catch (error) {
          throw new ConnectError(
            'the metadata plane that issues tokens could not be reached: retry, or exchange the token at api_server',
            Code.Unavailable,
            new Headers({ 'x-slate-error-code': 'METADATA_PLANE_UNAVAILABLE', 'retry-after': '1' }),
            undefined,
            error,
          );
        }
        const body: unknown = await answer.json().catch(() => ({}));
        if (!answer.ok) {
          const parsed = ErrorAnswerSchema.safeParse(body);
          const message =
            (parsed.success && (parsed.data.detail ?? parsed.data.message)) ||
            `the token exchange failed (HTTP ${answer.status})`;
          const metadata = new Headers();
          const retryAfter = answer.headers.get('retry-after');
          if (retryAfter) metadata.set('retry-after', retryAfter);
          throw new ConnectError(message, codeByHttpStatus[answer.status] ?? Code.Internal, metadata);
        }
        const token = TokenAnswerSchema.parse(body);
        return create(GetTokenResponseSchema, {
          accessToken: token.access_token,
          tokenType: token.token_type,
          expiresIn: token.expires_in,
          expiresAt: timestampFromMs(Date.now() + token.expires_in * 1000),
          apiServer: token.api_server,
          primaryEnvironment: token.primary_environment,
          engines: token.engines,
          grpcEngines: Object.fromEntries(
            Object.entries(token.engines).map(([env, url]) => [env, options.grpcEngineOf(url)]),
          ),
          environmentIdToName: token.environment_id_to_name,
        });
      },
    });
}
