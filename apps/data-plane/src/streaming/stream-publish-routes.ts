import { SlateError } from '@slate/graph';
import type { Bus } from '@slate/stores';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ServedEnvironments } from '../deployments/served-environments.ts';

export interface StreamPublishRoutesOptions {
  readonly served: ServedEnvironments;
  readonly bus: Bus;
}

const PublishRequestSchema = z.object({
  messages: z
    .array(
      z.object({
        key: z.string().max(256).optional(),
        /** The body: a string as is, anything else as JSON. */
        value: z.unknown(),
      }),
    )
    .min(1)
    .max(10_000),
});

/**
 * `POST /v1/streams/{topic}/messages` `{messages: [{key?, value}]}` → `{offsets}`: publishes messages to a
 * stream topic on the data plane's bus, for producers that cannot reach the bus itself (the embedded log bus
 * of `slate up`, a laptop outside the cluster). Only topics read by a streaming resolver of the token's
 * environment's active deployment are accepted, so a token can never write to the result bus or another
 * internal topic. Needs `query.online`, as uploads do.
 */
export const streamPublishRoutes: FastifyPluginAsync<StreamPublishRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  app.post<{ Params: { topic: string } }>('/v1/streams/:topic/messages', async (request) => {
    const principal = request.principal;
    if (!principal) throw new SlateError('authentication', 'UNAUTHENTICATED', 'a bearer token is required');
    if (!principal.permissions.includes('query.online'))
      throw new SlateError('not_allowed', 'UNAUTHORIZED', "this token lacks the 'query.online' permission");
    const graph = options.served.get(principal.environment)?.deployment?.engine.graph;
    const topic = request.params.topic;
    if (!graph?.resolvers.some((resolver) => resolver.stream?.topic === topic))
      throw new SlateError(
        'not_found',
        'STREAM_NOT_FOUND',
        `no streaming resolver of the active deployment reads topic '${topic}'`,
      );
    const body = PublishRequestSchema.parse(request.body);
    const offsets = await options.bus.publish(
      topic,
      body.messages.map((message, i) => ({
        key: message.key ?? String(i),
        value: typeof message.value === 'string' ? message.value : JSON.stringify(message.value),
      })),
    );
    return { topic, offsets };
  });
};
