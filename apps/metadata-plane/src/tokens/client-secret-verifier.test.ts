import { hash } from '@node-rs/argon2';
import { SlateError } from '@slate/graph';
import { describe, expect, it } from 'vitest';
import { createClientSecretVerifier } from './client-secret-verifier.ts';

const stored = await hash('right');

describe('createClientSecretVerifier', () => {
  it('refuses over the per-IP limit with RATE_LIMITED and a retry delay, before any hashing', () => {
    const secrets = createClientSecretVerifier({ perIp: { ratePerSecond: 1, burst: 2 } }, { now: () => 0 });
    secrets.admit({ clientId: 'a', secret: 'x', ip: '1.1.1.1' });
    secrets.admit({ clientId: 'b', secret: 'x', ip: '1.1.1.1' });
    const error = (() => {
      try {
        secrets.admit({ clientId: 'c', secret: 'x', ip: '1.1.1.1' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SlateError);
    expect(error).toMatchObject({
      kind: 'rate_limited',
      code: 'RATE_LIMITED',
      details: { retryAfterSeconds: 1 },
    });
    expect(() => secrets.admit({ clientId: 'c', secret: 'x', ip: '2.2.2.2' })).not.toThrow();
  });

  it('lets a recently verified secret past the limits, but not after the stored hash changed', async () => {
    const secrets = createClientSecretVerifier(
      { perClient: { ratePerSecond: 1, burst: 1 } },
      { now: () => 0 },
    );
    expect(await secrets.admit({ clientId: 'a', secret: 'right', ip: 'ip' }).verify(stored)).toBe(true);
    // The per-client bucket is empty now, yet the verified secret is admitted and skips argon2.
    expect(await secrets.admit({ clientId: 'a', secret: 'right', ip: 'ip' }).verify(stored)).toBe(true);
    expect(() => secrets.admit({ clientId: 'a', secret: 'wrong', ip: 'ip' })).toThrow(SlateError);
    // Rotated: the row holds another hash, so the remembered secret is checked again (and fails).
    const rotated = await hash('new-secret');
    expect(await secrets.admit({ clientId: 'a', secret: 'right', ip: 'ip' }).verify(rotated)).toBe(false);
  });

  it('answers false for an unknown client id (dummy check) and a wrong secret', async () => {
    const secrets = createClientSecretVerifier({});
    expect(await secrets.admit({ clientId: 'nobody', secret: 'x', ip: 'ip' }).verify(undefined)).toBe(false);
    expect(await secrets.admit({ clientId: 'a', secret: 'wrong', ip: 'ip' }).verify(stored)).toBe(false);
  });
});
