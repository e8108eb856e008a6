import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier } from './token-verifier.ts';

const issuer = 'http://metadata.test';

async function setup(cacheMs?: number, cacheSize?: number) {
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA' };
  let clock = Date.now();
  let keyLookups = 0;
  const local = createLocalJWKSet({ keys: [jwk] });
  const verifier = createTokenVerifier({
    jwksUrl: `${issuer}/jwks`,
    issuer,
    keys: (header, token) => {
      keyLookups++;
      return local(header, token);
    },
    cacheMs,
    cacheSize,
    now: () => clock,
  });
  const sign = (expiresIn: string, subject = 'tok_1') =>
    new SignJWT({ env: 'dev', perms: ['query.online'] })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience('slate')
      .setSubject(subject)
      .setExpirationTime(expiresIn)
      .sign(pair.privateKey);
  return { verifier, sign, advance: (ms: number) => (clock += ms), lookups: () => keyLookups };
}

describe('verified-token cache', () => {
  it('verifies a token once and reuses the principal within cacheMs', async () => {
    const { verifier, sign, advance, lookups } = await setup(60_000);
    const token = await sign('1h');
    const first = await verifier.verify(token);
    advance(59_000);
    expect(await verifier.verify(token)).toEqual(first);
    expect(lookups()).toBe(1);
    advance(2_000);
    await verifier.verify(token);
    expect(lookups()).toBe(2);
  });

  it('never serves a token past its expiry', async () => {
    const { verifier, sign, advance } = await setup(60_000);
    const token = await sign('10s');
    await verifier.verify(token);
    advance(11_000);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('does not remember refused tokens, nor serve a tampered copy of a remembered one', async () => {
    const { verifier, sign } = await setup(60_000);
    const token = await sign('1h');
    await verifier.verify(token);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, env: 'prod' })).toString('base64url')}.${signature}`;
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('answers verifyCached in the same turn only for a token verify has accepted, within cacheMs', async () => {
    const { verifier, sign, advance } = await setup(60_000);
    const token = await sign('1h');
    expect(verifier.verifyCached(token)).toBeUndefined();
    const principal = await verifier.verify(token);
    expect(verifier.verifyCached(token)).toEqual(principal);
    expect(verifier.verifyCached(`${token}x`)).toBeUndefined();
    advance(61_000);
    expect(verifier.verifyCached(token)).toBeUndefined();
  });

  it('forgets the least recently used token when full, not the one in use', async () => {
    const { verifier, sign } = await setup(60_000, 2);
    const [a, b, c] = await Promise.all([sign('1h', 'a'), sign('1h', 'b'), sign('1h', 'c')]);
    await verifier.verify(a);
    await verifier.verify(b);
    expect(verifier.verifyCached(a)?.subject).toBe('a'); // a is now the most recently used
    await verifier.verify(c); // full: b goes
    expect(verifier.verifyCached(a)?.subject).toBe('a');
    expect(verifier.verifyCached(b)).toBeUndefined();
    expect(verifier.verifyCached(c)?.subject).toBe('c');
  });

  it('verifies every time when disabled', async () => {
    const { verifier, sign, lookups } = await setup(0);
    const token = await sign('1h');
    await verifier.verify(token);
    await verifier.verify(token);
    expect(lookups()).toBe(2);
  });
});

describe('revocations from the desired state', () => {
  const signAt = async (iat: number) => {
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA' };
    const verifier = createTokenVerifier({
      jwksUrl: `${issuer}/jwks`,
      issuer,
      keys: createLocalJWKSet({ keys: [jwk] }),
      cacheMs: 60_000,
      now: () => 1_000_000 * 1000,
    });
    const sign = (subject: string, issuedAt = iat) =>
      new SignJWT({ env: 'dev', perms: ['query.online'], kind: 'service_token' })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
        .setIssuer(issuer)
        .setAudience('slate')
        .setSubject(subject)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + 3600)
        .sign(pair.privateKey);
    return { verifier, sign };
  };

  it('refuses a revoked token even while its verification is cached, and keeps others working', async () => {
    const { verifier, sign } = await signAt(999_000);
    const revokedToken = await sign('st_revoked');
    const other = await sign('st_other');
    await verifier.verify(revokedToken); // now cached
    await verifier.verify(other);
    verifier.setRevocations([{ id: 'st_revoked', issued_before: null, until: 1_003_660 }]);
    await expect(verifier.verify(revokedToken)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await verifier.verify(other)).subject).toBe('st_other');
  });

  it('the same-turn path (verifyCached) refuses a token revoked after it was cached', async () => {
    const { verifier, sign } = await signAt(999_000);
    const token = await sign('st_revoked');
    await verifier.verify(token);
    expect(verifier.verifyCached(token)?.subject).toBe('st_revoked');
    verifier.setRevocations([{ id: 'st_revoked', issued_before: null, until: 1_003_660 }]);
    // The cache entry is forgotten with the revocation: the token goes back through verify, which refuses it.
    expect(verifier.verifyCached(token)).toBeUndefined();
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('after a rotation refuses tokens issued before it and accepts newer ones', async () => {
    const { verifier, sign } = await signAt(999_000);
    const old = await sign('st_1', 999_000);
    const fresh = await sign('st_1', 999_500);
    verifier.setRevocations([{ id: 'st_1', issued_before: 999_500, until: 1_003_160 }]);
    await expect(verifier.verify(old)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await verifier.verify(fresh)).subject).toBe('st_1');
  });

  it('forgets a revocation past its `until` and when the next list no longer holds it', async () => {
    const { verifier, sign } = await signAt(999_000);
    const token = await sign('st_1');
    verifier.setRevocations([{ id: 'st_1', issued_before: null, until: 999_999 }]); // already past
    expect((await verifier.verify(token)).subject).toBe('st_1');
    verifier.setRevocations([{ id: 'st_1', issued_before: null, until: 1_003_600 }]);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    verifier.setRevocations([]);
    expect((await verifier.verify(token)).subject).toBe('st_1');
  });
});
