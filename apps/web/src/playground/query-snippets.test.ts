import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { onlineQueryClientCode, onlineQueryCurl, shellQuote } from './query-snippets.ts';

describe('query snippets', () => {
  const request = { inputs: { 'user.id': 1, 'user.note': "it's" }, outputs: ['user.name'] };

  it('quotes for a POSIX shell: the shell hands back exactly the JSON', () => {
    const body = JSON.stringify(request);
    // The shell itself is the independent judge of the quoting.
    expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(body)}`]).toString()).toBe(body);
  });

  it('builds a curl command against the API host with the token from the environment', () => {
    const curl = onlineQueryCurl('https://slate.example.com/', request);
    expect(curl).toContain("curl -sS 'https://slate.example.com/v1/query/online'");
    expect(curl).toContain(`"$SLATE_TOKEN"`);
    const data = /--data ('(?:[^']|'\\'')*')$/.exec(curl)?.[1];
    expect(data).toBeDefined();
    expect(JSON.parse(execFileSync('sh', ['-c', `printf %s ${data}`]).toString())).toEqual(request);
  });

  it('writes @slate/client code for the same query', () => {
    const code = onlineQueryClientCode('https://slate.example.com', 'prod', request);
    expect(code).toContain(`import { createSlateClient } from '@slate/client';`);
    expect(code).toContain(`environment: "prod"`);
    expect(code).toContain('client.queryOnline({');
    expect(code).toContain(`console.log(result.get("user.name"));`);
  });
});
