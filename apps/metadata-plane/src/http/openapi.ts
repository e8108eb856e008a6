import { type ZodType, z } from 'zod';
import type { RouteInfo } from './router.ts';

type JsonSchema = Record<string, unknown>;

/** An OpenAPI 3.1 document generated from the mounted routes' zod contracts. */
export function openApiDocument(routes: readonly RouteInfo[], serverUrl: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters = [...objectParameters(route.params, 'path'), ...objectParameters(route.query, 'query')];
    const operation: JsonSchema = {
      summary: route.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: toSchema(route.body) } },
            },
          }
        : {}),
      responses: {
        [String(route.status)]: { description: 'OK' },
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
      security: security(route),
      ...(route.auth.kind === 'principal' ? { 'x-slate-permission': route.auth.permission } : {}),
    };
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Slate metadata plane', version: '1' },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        session: { type: 'apiKey', in: 'cookie', name: 'slate_session' },
        dataPlane: { type: 'http', scheme: 'bearer', description: 'a data-plane token' },
        registration: { type: 'http', scheme: 'bearer', description: 'the registration token' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['detail', 'message', 'trace'],
          properties: {
            detail: { type: 'string' },
            message: { type: 'string' },
            trace: { type: 'null' },
            code: { type: 'string' },
            issues: { type: 'array', items: { type: 'object' } },
          },
        },
      },
    },
  };
}

function security(route: RouteInfo): JsonSchema[] {
  switch (route.auth.kind) {
    case 'public':
      return [];
    case 'principal':
      return [{ bearer: [] }, { session: [] }];
    case 'data_plane':
      return [{ dataPlane: [] }];
    case 'registration':
      return [{ registration: [] }];
  }
}

function toSchema(schema: ZodType): JsonSchema {
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return {};
  }
}

function objectParameters(schema: ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = toSchema(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (required.has(name) && !('default' in s)),
    schema: s,
  }));
}
