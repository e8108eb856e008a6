import type { CreatedToken } from '../api/index.ts';
import { CopyButton } from './copy-button.tsx';

/**
 * The one moment a client secret is visible: the server returns it only in the create response and
 * stores just a hash, so once this panel is closed it is gone.
 */
export function TokenCreatedPanel({
  token,
  name,
  onDone,
  rotated = false,
}: {
  token: CreatedToken;
  name: string;
  onDone: () => void;
  /** The token was given a new secret (the old one no longer works) rather than created. */
  rotated?: boolean;
}) {
  return (
    <section className="card card-pad secret-panel" aria-labelledby="token-created-title">
      <h3 id="token-created-title" className="card-title">
        Token “{name}” {rotated ? 'rotated' : 'created'}
      </h3>
      {rotated && (
        <p className="muted small">
          The previous client secret, and every access token issued with it, stopped working.
        </p>
      )}
      <p className="warning" role="alert">
        Copy the client secret now. <strong>You won’t see it again</strong> — if it is lost, revoke this token
        and create a new one.
      </p>
      <dl className="secret-fields">
        <dt>Client ID</dt>
        <dd>
          <code className="secret-value">{token.client_id}</code>
          <CopyButton value={token.client_id} />
        </dd>
        <dt>Client secret</dt>
        <dd>
          <code className="secret-value" data-testid="client-secret">
            {token.client_secret}
          </code>
          <CopyButton value={token.client_secret} label="Copy secret" />
        </dd>
      </dl>
      <p className="muted small">
        Exchange them for an access token with <code>POST /v1/oauth/token</code>, or run{' '}
        <code>slate auth --client-id … --client-secret …</code>.
      </p>
      <button type="button" className="button button-primary" onClick={onDone}>
        I’ve saved the secret
      </button>
    </section>
  );
}
