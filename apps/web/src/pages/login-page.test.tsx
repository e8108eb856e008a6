import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { createHttpClient, createSlateApi } from '../api/index.ts';
import { ApiProvider } from '../api-context.tsx';
import { createFakeServer } from '../test-support/fake-server.ts';
import { LoginPage } from './login-page.tsx';

function renderLogin(providers: unknown, props: Partial<Parameters<typeof LoginPage>[0]> = {}) {
  const server = createFakeServer({ 'GET /v1/auth/providers': () => providers });
  const api = createSlateApi(createHttpClient({ fetch: server.fetch }));
  render(
    <ApiProvider api={api}>
      <LoginPage onLoggedIn={() => undefined} returnTo="/" {...props} />
    </ApiProvider>,
  );
}

describe('LoginPage', () => {
  it('offers one button per identity provider, coming back to the page, and no email form in production', async () => {
    renderLogin(
      {
        providers: [
          { id: 'corp', name: 'Corp SSO', login_url: '/v1/auth/oidc/corp/login' },
          { id: 'google', name: 'Google', login_url: '/v1/auth/oidc/google/login' },
        ],
        local_login: false,
      },
      { returnTo: '/environments/e 1?x=1' },
    );
    const corp = await screen.findByRole('link', { name: 'Continue with Corp SSO' });
    expect(corp.getAttribute('href')).toBe(
      `/v1/auth/oidc/corp/login?return_to=${encodeURIComponent('/environments/e 1?x=1').replace(/%20/g, '+')}`,
    );
    expect(screen.getByRole('link', { name: 'Continue with Google' })).toBeTruthy();
    expect(screen.queryByLabelText('Email')).toBeNull();
  });

  it('shows the email form in embedded mode, beside any provider', async () => {
    renderLogin({
      providers: [{ id: 'corp', name: 'Corp SSO', login_url: '/v1/auth/oidc/corp/login' }],
      local_login: true,
    });
    expect(await screen.findByLabelText('Email')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Continue with Corp SSO' }).getAttribute('href')).toBe(
      '/v1/auth/oidc/corp/login',
    );
  });

  it('says why an OIDC sign-in was refused, and that a session expired', async () => {
    renderLogin({ providers: [], local_login: true }, { error: 'UNKNOWN_USER', notice: 'expired' });
    expect((await screen.findByRole('alert')).textContent).toMatch(/not a member of any Slate team/);
    // the error is the news; the expiry notice would only add noise
    expect(screen.queryByText(/session has expired/)).toBeNull();
  });

  it('tells the operator what to configure when the server offers no way in', async () => {
    renderLogin({ providers: [], local_login: false });
    expect(await screen.findByText(/No sign-in method is configured/)).toBeTruthy();
  });
});
