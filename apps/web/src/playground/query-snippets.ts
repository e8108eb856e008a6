import type { OnlineQueryRequest } from '@slate/client';

/** Quotes `text` for a POSIX shell (single quotes; an embedded `'` becomes `'\''`). */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The online query as a `curl` command against the API host, with a service token's access token in
 * `$SLATE_TOKEN` (the browser's session cookie is not something to paste into a terminal).
 *
 * @example
 * onlineQueryCurl('https://slate.example.com', { inputs: { 'user.id': 1 }, outputs: ['user.name'] });
 */
export function onlineQueryCurl(apiServer: string, request: OnlineQueryRequest): string {
  return [
    `curl -sS ${shellQuote(`${apiServer.replace(/\/+$/, '')}/v1/query/online`)}`,
    `  -H 'Authorization: Bearer '"$SLATE_TOKEN"`,
    `  -H 'Content-Type: application/json'`,
    `  --data ${shellQuote(JSON.stringify(request))}`,
  ].join(' \\\n');
}

/**
 * The online query as TypeScript over `@slate/client`, with the service token's credentials from the
 * environment (`SLATE_CLIENT_ID`, `SLATE_CLIENT_SECRET`).
 */
export function onlineQueryClientCode(
  apiServer: string,
  environmentId: string,
  request: OnlineQueryRequest,
): string {
  const body = JSON.stringify(request, null, 2).replaceAll('\n', '\n  ');
  return [
    `import { createSlateClient } from '@slate/client';`,
    '',
    'const client = createSlateClient({',
    `  apiServer: ${JSON.stringify(apiServer.replace(/\/+$/, ''))},`,
    `  environment: ${JSON.stringify(environmentId)},`,
    '  clientId: process.env.SLATE_CLIENT_ID!,',
    '  clientSecret: process.env.SLATE_CLIENT_SECRET!,',
    '});',
    '',
    `const result = await client.queryOnline(${body});`,
    ...request.outputs.slice(0, 3).map((fqn) => `console.log(result.get(${JSON.stringify(fqn)}));`),
    'console.log(result.errors);',
  ].join('\n');
}
