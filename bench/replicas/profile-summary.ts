/**
 * `node --import tsx bench/replicas/profile-summary.ts <dir>`: where the CPU of the `.cpuprofile` files in
 * `<dir>` (from `SLATE_BENCH_PROFILE=<dir> npm run bench -- replicas`) went, by package: self time of
 * every sampled function, grouped by the npm package (or Node's internals, or Slate's own build) its
 * script belongs to, in % of the busy (non-idle) samples. One table per file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly hitCount?: number;
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
}

/** The group a sampled function belongs to. */
export function groupOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (url.includes('/dist/')) return `slate ${url.slice(url.indexOf('/dist/') + 6).split('/')[0]}`;
  return url;
}

/** Self samples by group, as shares of the busy samples (idle excluded), largest first. */
export function summarize(profile: Profile): { group: string; share: number }[] {
  const counts = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    const group = groupOf(node);
    if (group === '(idle)' || hits === 0) continue;
    busy += hits;
    counts.set(group, (counts.get(group) ?? 0) + hits);
  }
  return [...counts]
    .map(([group, n]) => ({ group, share: n / Math.max(1, busy) }))
    .sort((a, b) => b.share - a.share);
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const dir = process.argv[2] ?? '.';
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const rows = summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile).slice(0, 15);
    console.log(`\n${file}`);
    for (const { group, share } of rows) console.log(`${(100 * share).toFixed(1).padStart(5)}%  ${group}`);
  }
}
