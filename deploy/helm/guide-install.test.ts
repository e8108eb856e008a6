import { readFileSync } from 'node:fs';
import { SlateError } from '@slate/graph';
import { parseSeed } from '@slate/metadata-plane';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { containerOf, envOf, findManifest, podOf, specOf } from './testing/manifest-access.ts';
import { helm, helmFile, problemPaths, renderChart, renderChartError } from './testing/render-chart.ts';
import { validateManifest } from './testing/validate-manifest.ts';

const GUIDE = [helmFile('fixtures/guide/values.yaml'), helmFile('fixtures/guide/seed.yaml')];
const FILLED = [
  helmFile('fixtures/guide-filled/values.yaml'),
  helmFile('fixtures/guide-filled/seed.yaml'),
  helmFile('examples/one-cluster/metadata-plane.yaml'),
];
const GUIDE_RULE = '"lowercase, less than 10 characters, no spaces or special characters"';

describe.skipIf(!helm)("the installation guide's values.yaml and seed.yaml", () => {
  it('are refused as written, in one message listing every value to fix', async () => {
    const message = await renderChartError('metadataPlane', {
      files: GUIDE,
      release: 'chalk-metadata-plane',
    });
    expect(problemPaths(message)).toEqual([
      'chalk.metadata.api_host',
      'chalk.metadata.frontend_host',
      'chalk.metadata.frontend.image',
      'chalk.metadata.seed.teams[0].id',
      'chalk.metadata.seed.projects[0].id',
      'chalk.metadata.seed.environments[0].id',
      'objectStore.bucketPrefix',
    ]);
    expect(message).toContain('7 value(s) to fix');
    expect(message).toContain('"<YOUR API HOST, e.g. https://api.chalk.ai>" is the guide\'s placeholder');
    // The over-long example ids are refused with the guide's own rule, quoted, and their length.
    const seed = parse(readFileSync(GUIDE[1]!, 'utf8')).chalk.metadata.seed;
    for (const id of [seed.teams[0].id, seed.projects[0].id, seed.environments[0].id] as string[]) {
      expect(message).toContain(
        `"${id}" (${id.length} characters) breaks the guide's rule for seed ids: ${GUIDE_RULE}`,
      );
    }
  });

  it('install once the placeholders are filled in, with the Slate values of examples/one-cluster', async () => {
    const docs = await renderChart('metadataPlane', { files: FILLED, release: 'chalk-metadata-plane' });
    for (const doc of docs) validateManifest(doc);
    const values = parse(readFileSync(FILLED[0]!, 'utf8')).chalk.metadata;
    const deployment = findManifest(docs, 'Deployment', 'chalk-metadata-plane');
    const env = envOf(containerOf(deployment));
    expect(env.SLATE_API_SERVER).toBe(values.api_host);
    expect(env.SLATE_S3_BUCKET_PREFIX).toBe('acme-slate');
    // The guide's service account name, which its IRSA trust policy names.
    expect(podOf(deployment).serviceAccountName).toBe('chalk-metadata-plane');

    // seed.yaml reaches the metadata plane as the file it parses, with every entry.
    const seedText = findManifest(docs, 'ConfigMap', 'chalk-metadata-plane-seed').data as Record<
      string,
      string
    >;
    const seed = parseSeed(parse(seedText['seed.yaml']!));
    const expected = parse(readFileSync(FILLED[1]!, 'utf8')).chalk.metadata.seed;
    expect(seed).toEqual(expected);

    // frontend.image: an init container copies the UI out of it; the API serves that copy.
    const web = podOf(deployment).initContainers?.find((c) => c.name === 'web-ui');
    expect(web?.image).toBe(values.frontend.image);
    expect(web?.command).toEqual(['cp', '-R', '/app/apps/web/dist/.', '/srv/web/']);
    expect(env.SLATE_WEB_ROOT).toBe('/srv/web');

    // frontend_host sends people to api_host, where sign-in's cookie and callback live.
    const redirect = findManifest(docs, 'HTTPRoute', 'chalk-metadata-plane-frontend');
    expect(specOf(redirect).hostnames).toEqual([new URL(values.frontend_host).hostname]);
    expect(JSON.stringify(specOf(redirect).rules)).toContain(
      `"requestRedirect":{"hostname":"${new URL(values.api_host).hostname}","statusCode":302}`,
    );
  });

  it('without frontend.image, the API serves the web UI built into its own image', async () => {
    const values = { chalk: { metadata: { api_host: 'https://slate.acme.example' } } };
    const docs = await renderChart('metadataPlane', {
      files: [helmFile('examples/one-cluster/metadata-plane.yaml')],
      values,
    });
    const deployment = findManifest(docs, 'Deployment', 'rel');
    expect(podOf(deployment).initContainers).toBeUndefined();
    expect(envOf(containerOf(deployment)).SLATE_WEB_ROOT).toBe('/app/apps/web/dist');
    expect(docs.filter((d) => d.kind === 'HTTPRoute').map((d) => d.metadata.name)).toEqual(['rel']);
  });

  it('checks seed ids, e-mails and roles exactly as the metadata plane will at start-up', async () => {
    const ids = [
      'a',
      'acme',
      'team1',
      'abcdefghi',
      'abcdefghij',
      'teamshortid',
      'Acme',
      'my-team',
      'my team',
      'é',
    ];
    const emails = [
      'a@b.co',
      'first.last+tag@acme.example',
      'no-at-sign',
      'a@b',
      'a b@acme.example',
      '@acme.io',
    ];
    const roles = ['owner', 'admin', 'developer', 'viewer', 'boss', 'Owner'];
    const seed = {
      teams: [{ id: 'ok', name: 'OK' }, ...ids.map((id) => ({ id, name: `team ${id}` }))],
      team_invites: [
        ...emails.map((email, i) => ({ id: `e${i}`, team: 'ok', email, role: 'viewer' })),
        ...roles.map((role, i) => ({ id: `r${i}`, team: 'ok', email: 'x@acme.example', role })),
      ],
    };
    const message = await renderChartError('metadataPlane', {
      values: { chalk: { metadata: { api_host: 'https://slate.acme.example', seed } } },
      files: [helmFile('examples/one-cluster/metadata-plane.yaml')],
    });
    const chartRefuses = problemPaths(message).map((p) => p.replace('chalk.metadata.seed.', ''));
    let planeRefuses: string[] = [];
    try {
      parseSeed(seed);
    } catch (error) {
      expect(error).toBeInstanceOf(SlateError);
      planeRefuses = ((error as SlateError).details!.issues as { path: string }[]).map((i) => i.path);
    }
    expect(chartRefuses.sort()).toEqual(planeRefuses.sort());
    // Independently of both: the ids that break "a-z and 0-9, fewer than 10".
    const broken = ids.map((id, i) => [id, i + 1] as const).filter(([id]) => !/^[a-z0-9]{1,9}$/.test(id));
    expect(broken.map(([id]) => id)).toEqual([
      'abcdefghij',
      'teamshortid',
      'Acme',
      'my-team',
      'my team',
      'é',
    ]);
    for (const [, index] of broken) expect(chartRefuses).toContain(`teams[${index}].id`);
  });
});
