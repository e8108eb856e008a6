import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createRedactingLogger } from './log-redaction.ts';

describe('createRedactingLogger', () => {
  it('blanks credentials wherever the one list names them', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createRedactingLogger({ name: 'persistence' }, sink);
    logger.info({
      req: { headers: { authorization: 'Bearer tok-1', cookie: 'slate_session=ck-2' } },
      config: { password: 'pw-3', registrationToken: 'rt-4', secret: 'sec-5' },
      client_secret: 'cs-6',
      access_token: 'at-7',
      feature: 'user.id',
    });
    const logged = lines.join('');
    for (const secret of ['tok-1', 'ck-2', 'pw-3', 'rt-4', 'sec-5', 'cs-6', 'at-7'])
      expect(logged).not.toContain(secret);
    expect(logged).toContain('user.id');
  });
});
