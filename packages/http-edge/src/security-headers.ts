/**
 * The Content-Security-Policy of HTML pages (the built web UI): scripts, styles, fonts and API calls from
 * its own origin only, images also as `data:` URLs (the inline favicon), no plugins, never framed. React's
 * `style={...}` props are set through the CSSOM, which a policy without `'unsafe-inline'` allows.
 */
export const HTML_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The policy of everything else (JSON, Arrow, scripts): nothing may load, nothing may frame it. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** Headers every response of both planes carries, whatever its type. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * The security headers for a response of the given content type: `SECURITY_HEADERS` plus the CSP for
 * HTML or for anything else. A response whose type is not known yet when headers are decided (a file
 * streamed by `@fastify/static`, such as the SPA's `index.html` for a deep link) gets the HTML policy,
 * which is still same-origin only.
 *
 * @example
 * securityHeadersFor('text/html; charset=utf-8')['content-security-policy']; // HTML_CONTENT_SECURITY_POLICY
 */
export function securityHeadersFor(contentType: string | undefined): Readonly<Record<string, string>> {
  const html = !contentType || contentType.toLowerCase().startsWith('text/html');
  return html ? HTML_HEADERS : API_HEADERS;
}

// Built once: every response reads one of these two (callers copy them into the reply, never mutate them).
const HTML_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...SECURITY_HEADERS,
  'content-security-policy': HTML_CONTENT_SECURITY_POLICY,
});
const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...SECURITY_HEADERS,
  'content-security-policy': API_CONTENT_SECURITY_POLICY,
});
