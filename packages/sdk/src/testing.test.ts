import { describe, expect, it } from 'vitest';
import { features, float, int, online, stream, string } from './index.ts';
import { parseStreamMessage, runResolver, runResolverRows, testContext } from './testing.ts';

const User = features('user', { id: int(), email: string(), domain: string(), score: float() });

const domainOf = online({
  inputs: { email: User.email },
  outputs: { domain: User.domain },
  fn: ({ email }) => ({ domain: email.slice(email.indexOf('@') + 1) }),
});

describe('runResolver', () => {
  it('returns the outputs of one row', async () => {
    expect(await runResolver(domainOf, { email: 'ada@example.com' })).toEqual({ domain: 'example.com' });
  });

  it('passes the context a test chooses, and neutral defaults', async () => {
    const seen: unknown[] = [];
    const scored = online({
      inputs: { id: User.id },
      outputs: { score: User.score },
      fn: ({ id }, context) => {
        seen.push(
          context.environment,
          context.now.toISOString(),
          context.secret('SALT'),
          context.secret('NONE'),
        );
        return { score: id * 2 };
      },
    });
    const now = new Date('2026-01-02T03:04:05Z');
    expect(await runResolver(scored, { id: 21 }, { now, secrets: { SALT: 'pepper' } })).toEqual({
      score: 42,
    });
    expect(seen).toEqual(['test', '2026-01-02T03:04:05.000Z', 'pepper', undefined]);
    expect(testContext({ environment: 'prod' }).environment).toBe('prod');
  });

  it('fails like a query when an output is left out', async () => {
    const broken = online({
      name: 'broken',
      inputs: { id: User.id },
      outputs: { score: User.score, domain: User.domain },
      // Declared outputs left out at run time, as a JavaScript resolver (or a cast) can.
      fn: () => ({ score: 1 }) as unknown as { score: number; domain: string },
    });
    await expect(runResolver(broken, { id: 1 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: "broken returned no 'domain' (row 0)",
    });
  });

  it('gives a batch resolver every row in one call', async () => {
    const calls: number[] = [];
    const batch = online.batch({
      inputs: { id: User.id },
      outputs: { score: User.score },
      fn: (rows) => {
        calls.push(rows.length);
        return rows.map(({ id }) => ({ score: id + 0.5 }));
      },
    });
    expect(await runResolverRows(batch, [{ id: 1 }, { id: 2 }, { id: 3 }])).toEqual([
      { score: 1.5 },
      { score: 2.5 },
      { score: 3.5 },
    ]);
    expect(calls).toEqual([3]);
    expect(await runResolver(batch, { id: 7 })).toEqual({ score: 7.5 });
  });

  it('refuses a batch answer of the wrong length', async () => {
    const short = online.batch({
      name: 'short',
      inputs: { id: User.id },
      outputs: { score: User.score },
      fn: () => [{ score: 1 }],
    });
    await expect(runResolverRows(short, [{ id: 1 }, { id: 2 }])).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'short returned 1 rows for 2',
    });
  });
});

describe('parseStreamMessage', () => {
  const views = stream({
    source: { topic: 'views' },
    outputs: { id: User.id, email: User.email },
    parse: ({ value, key }) => {
      const body = JSON.parse(value) as { id?: number };
      return typeof body.id === 'number' ? { id: body.id, email: key } : undefined;
    },
  });

  it('parses and skips as the consumer would', () => {
    expect(parseStreamMessage(views, { value: '{"id":3}', key: 'a@b.c' })).toEqual({ id: 3, email: 'a@b.c' });
    expect(parseStreamMessage(views, { value: '{}' })).toBeUndefined();
    expect(() => parseStreamMessage(views, { value: 'not json' })).toThrow(SyntaxError);
  });
});
