import { describe, expect, it } from 'vitest';
import {
  API_CONTENT_SECURITY_POLICY,
  HTML_CONTENT_SECURITY_POLICY,
  securityHeadersFor,
} from './security-headers.ts';

describe('securityHeadersFor', () => {
  it('gives HTML, and responses whose type is not known yet (304s, streamed files), the UI policy', () => {
    for (const type of ['text/html; charset=utf-8', '', undefined])
      expect(securityHeadersFor(type)['content-security-policy']).toBe(HTML_CONTENT_SECURITY_POLICY);
    expect(securityHeadersFor('application/json')['content-security-policy']).toBe(
      API_CONTENT_SECURITY_POLICY,
    );
  });

  it('never lets the UI be framed or run scripts from elsewhere', () => {
    expect(HTML_CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(HTML_CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(HTML_CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(securityHeadersFor('application/json')['x-frame-options']).toBe('DENY');
  });
});
