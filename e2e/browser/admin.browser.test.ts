import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unlessCi } from '@slate/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiAsSession,
  type BrowserHarness,
  buildWebUi,
  chromiumUnavailable,
  DESKTOP,
  PHONE,
  sessionCookie as sessionCookieAt,
  signInWithEmail,
  startBrowserHarness,
  startUiPlane,
  teamSeed,
  type UiPlane,
  type Viewport,
} from './support/index.ts';

/** Any 32 bytes are an X25519 public key; the test never needs to open what is sealed to it. */
const DATA_PLANE_KEY = 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo';
/** The secret the test types; it must never come back from the server or stay in the page. */
const SECRET_VALUE = `sk_live_${createHash('sha256').update(String(Date.now())).digest('hex').slice(0, 24)}`;

const chromiumMissing = unlessCi(chromiumUnavailable());

/** The smallest valid graph: one namespace with its primary key, `features` features in all. */
function graph(features: number) {
  return {
    version: 1,
    namespaces: [
      {
        name: 'user',
        primaryKey: 'user.id',
        tags: [],
        features: Array.from({ length: features }, (_, i) => ({
          fqn: i === 0 ? 'user.id' : `user.f${i}`,
          name: i === 0 ? 'id' : `f${i}`,
          namespace: 'user',
          kind: 'scalar',
          dtype: { type: 'int' },
          primary: i === 0,
          tags: [],
          featureTime: false,
          nullable: false,
          version: 1,
          deprecated: false,
          maxStalenessS: 0,
          storeOnline: true,
          storeOffline: true,
          etlOfflineToOnline: false,
          cacheNulls: true,
          cacheDefaults: true,
          offlineTtlS: null,
        })),
      },
    ],
    resolvers: [],
    namedQueries: [],
  };
}

describe.skipIf(chromiumMissing !== undefined)('administration in Chromium', () => {
  let work: string;
  let harness: BrowserHarness;
  let ui: UiPlane;
  let url: string;
  let dataPlaneToken: string;
  const deployments: string[] = [];
  /** Every API answer any page received, to check the secret never came back. */
  const apiBodies: string[] = [];

  const api = (method: string, path: string, cookie: string | null, body?: unknown) =>
    apiAsSession(url, method, path, cookie, body);
  const sessionCookie = (email: string) => sessionCookieAt(url, email);

  /** A data plane's status report: it now serves `deploymentId` (which makes that deployment SUCCESS). */
  async function serve(deploymentId: string) {
    const res = await fetch(`${url}/v1/data-plane/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dataPlaneToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        environments: [
          { id: 'dev', active_deployment_id: deploymentId, deployment_id: deploymentId, state: 'loaded' },
        ],
      }),
    });
    expect(res.status).toBe(200);
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'slate-browser-admin-'));
    const webRoot = join(work, 'web');
    await buildWebUi(webRoot);
    ui = await startUiPlane({
      mode: 'embedded',
      webRoot,
      objectsRoot: join(work, 'objects'),
      seed: teamSeed({
        environment: { id: 'dev', name: 'Dev' },
        invite: { email: 'owner@acme.test', role: 'owner' },
      }),
    });
    url = ui.url;
    // A data plane registers (secrets are sealed to its key) and is given the environment.
    const registered = await fetch(`${url}/v1/data-planes/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ui.registrationToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'east', url: 'http://127.0.0.1:9', public_key: DATA_PLANE_KEY }),
    });
    expect(registered.status).toBe(200);
    dataPlaneToken = ((await registered.json()) as { token: string }).token;
    // Two deployments, each served in turn: the second is live, the first can be rolled back to.
    const owner = await sessionCookie('owner@acme.test');
    for (const [i, commit] of ['1111111aaaa', '2222222bbbb'].entries()) {
      const bytes = Buffer.from(`export const v = ${i};`);
      const created = await api('POST', '/v1/deployments', owner, {
        environment_id: 'dev',
        graph: graph(i + 1),
        bundle_base64: bytes.toString('base64'),
        source_hash: createHash('sha256').update(bytes).digest('hex'),
        git: { commit, branch: 'main', message: `release ${i + 1}` },
      });
      expect(created.status, created.text).toBe(201);
      deployments.push(created.json.id as string);
      await serve(created.json.id as string);
    }
    harness = await startBrowserHarness('admin');
  }, 240_000);

  afterAll(async () => {
    await harness?.close();
    await ui?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const open = (viewport: Viewport = DESKTOP) =>
    harness.open({ viewport, onApiBody: (body) => apiBodies.push(body) });
  const signIn = (page: Page, email: string, at = '/') => signInWithEmail(page, url, email, at);
  const shoot = (page: Page, name: string) => harness.shoot(page, name);

  it('sets a secret that is never shown back: not in the page, not in any API answer', async () => {
    const { context, page } = await open();
    await signIn(page, 'owner@acme.test', '/environments/dev/secrets');
    await page.getByRole('heading', { name: 'Secrets', level: 1 }).waitFor();
    await page.getByLabel('Secret name').fill('STRIPE_API_KEY');
    await page.getByLabel('Secret value').fill(SECRET_VALUE);
    await shoot(page, 'secrets-typing-desktop');
    await page.getByRole('button', { name: 'Set secret' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved STRIPE_API_KEY' }).waitFor();
    await page.getByRole('region', { name: 'Secrets' }).getByText('STRIPE_API_KEY').waitFor();

    expect(await page.content()).not.toContain(SECRET_VALUE);
    expect(await page.getByLabel('Secret value').inputValue()).toBe('');
    // After a reload, too, and in what the API answers anyone who asks.
    await page.reload();
    await page.getByRole('region', { name: 'Secrets' }).getByText('STRIPE_API_KEY').waitFor();
    expect(await page.content()).not.toContain(SECRET_VALUE);
    const owner = await sessionCookie('owner@acme.test');
    for (const path of ['/v1/environments/dev/secrets', '/v1/audit-log?limit=500', '/openapi.json']) {
      const answer = await api('GET', path, owner);
      expect(answer.status).toBe(200);
      expect(answer.text).not.toContain(SECRET_VALUE);
    }
    const desired = await fetch(`${url}/v1/data-plane/desired-state`, {
      headers: { authorization: `Bearer ${dataPlaneToken}` },
    });
    const desiredText = await desired.text();
    expect(desiredText).toContain('STRIPE_API_KEY'); // sealed to the data plane, by name…
    expect(desiredText).not.toContain(SECRET_VALUE); // …never in clear
    expect(apiBodies.length).toBeGreaterThan(3);
    expect(apiBodies.filter((b) => b.includes(SECRET_VALUE))).toEqual([]);
    await shoot(page, 'secrets-desktop');
    await context.close();

    const phone = await open(PHONE);
    await signIn(phone.page, 'owner@acme.test', '/environments/dev/secrets');
    await phone.page.getByRole('region', { name: 'Secrets' }).getByText('STRIPE_API_KEY').waitFor();
    await shoot(phone.page, 'secrets-phone');
    await phone.context.close();
  }, 300_000);

  it('invites a member, who signs in and lands in the team; the invite shows accepted', async () => {
    const { context, page } = await open();
    await signIn(page, 'owner@acme.test', '/teams');
    await page.getByRole('link', { name: 'Members', exact: true }).click();
    const form = page.getByRole('form', { name: 'Invite a member' });
    await form.getByLabel('Email').fill('newbie@acme.test');
    await form.getByLabel('Role').selectOption('developer');
    await form.getByRole('button', { name: 'Invite' }).click();
    const invites = page.getByRole('region', { name: 'Invites' });
    await invites.getByText('newbie@acme.test').waitFor();
    await invites.getByText('Pending', { exact: true }).waitFor();
    await shoot(page, 'members-invited-desktop');

    const invitee = await open();
    await signIn(invitee.page, 'newbie@acme.test');
    await invitee.page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
    await invitee.page.getByText('Acme · developer').waitFor();
    // A developer sees the team, but nothing to change on it.
    await invitee.page.getByRole('link', { name: 'Teams' }).click();
    await invitee.page.getByText(/your role: developer/).waitFor();
    expect(await invitee.page.getByRole('button', { name: /Rename|New project/ }).count()).toBe(0);
    await invitee.page.getByRole('link', { name: 'Members', exact: true }).click();
    await invitee.page.getByRole('region', { name: 'Members' }).waitFor();
    expect(await invitee.page.getByRole('form', { name: 'Invite a member' }).count()).toBe(0);
    await shoot(invitee.page, 'members-as-developer-desktop');
    await invitee.context.close();

    await page.reload();
    await page.getByRole('region', { name: 'Members' }).getByText('newbie@acme.test').waitFor();
    await page
      .getByRole('region', { name: 'Invites' })
      .getByRole('row')
      .filter({ hasText: 'newbie@acme.test' })
      .getByText('Accepted', { exact: true })
      .waitFor();
    await shoot(page, 'members-accepted-desktop');
    await context.close();

    const phone = await open(PHONE);
    await signIn(phone.page, 'owner@acme.test', '/teams/acme/members');
    await phone.page.getByRole('region', { name: 'Members' }).getByText('newbie@acme.test').waitFor();
    await shoot(phone.page, 'members-phone');
    await phone.page.goto(`${url}/teams/acme`);
    await phone.page.getByRole('region', { name: 'Project Fraud' }).waitFor();
    await shoot(phone.page, 'teams-phone');
    await phone.context.close();
  }, 300_000);

  it('renames an environment and creates a project from the team page', async () => {
    const { context, page } = await open();
    await signIn(page, 'owner@acme.test', '/teams/acme');
    await page.getByRole('button', { name: 'Rename environment Dev' }).click();
    await page.getByLabel('New name of environment Dev').fill('Development');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('link', { name: 'Development', exact: true }).waitFor();
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('New project: name').fill('Risk');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('region', { name: 'Project Risk' }).waitFor();
    await shoot(page, 'teams-desktop');
    await page.getByRole('link', { name: 'Roles' }).click();
    await page.getByRole('button', { name: 'New custom role' }).click();
    await shoot(page, 'roles-desktop');
    await context.close();
  }, 300_000);

  it('rolls back from the deployments view', async () => {
    const { context, page } = await open();
    await signIn(page, 'owner@acme.test', '/environments/dev');
    const older = page.getByRole('row').filter({ hasText: '1111111' });
    await older.getByRole('button', { name: 'Roll back to this' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
    await page.getByText(/Rolling back to 1111111/).waitFor();
    // The older deployment is what the data plane is asked to serve again (no new build: same id).
    const owner = await sessionCookie('owner@acme.test');
    const list = await api('GET', '/v1/deployments?environment_id=dev', owner);
    const items = list.json.items as { id: string; desired?: boolean }[];
    expect(items.map((d) => [d.id, d.desired])).toEqual([
      [deployments[1], false],
      [deployments[0], true],
    ]);
    expect((await api('GET', '/v1/environments/dev', owner)).json.desired_deployment_id).toBe(deployments[0]);
    // Once the data plane serves it, the view shows it live and offers the newer one to go back to.
    await serve(deployments[0]!);
    await page.reload();
    await page
      .getByRole('row')
      .filter({ hasText: '2222222' })
      .getByRole('button', { name: 'Roll back to this' })
      .waitFor();
    await shoot(page, 'rollback-desktop');
    await context.close();
  }, 300_000);

  it('filters the audit log by actor and action', async () => {
    const { context, page } = await open();
    await signIn(page, 'owner@acme.test', '/audit-log');
    await page.getByLabel('Action').selectOption('secrets.write');
    const entries = page.getByRole('region', { name: 'Entries' });
    await expect.poll(() => entries.getByRole('row').count()).toBe(2);
    expect(await entries.getByText('secrets.write').count()).toBe(1);
    await shoot(page, 'audit-filtered-desktop');
    await context.close();
  }, 300_000);

  it('raised no uncaught error in any page', () => {
    expect(harness.pageErrors).toEqual([]);
  });
});
