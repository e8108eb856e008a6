import { existsSync } from 'node:fs';

/**
 * The helm binary for chart tests: `SLATE_TEST_HELM`, else the one `deploy/helm/fetch-helm.sh` puts in
 * `node_modules/.cache/slate/helm/helm` (`.ci/run` runs it). `undefined` when neither exists, so chart tests
 * skip visibly on a machine that has not fetched it.
 */
export function helmBinary(): string | undefined {
  const candidates = [
    process.env.SLATE_TEST_HELM,
    new URL('../../../node_modules/.cache/slate/helm/helm', import.meta.url).pathname,
  ];
  return candidates.find((path): path is string => Boolean(path) && existsSync(path!));
}
