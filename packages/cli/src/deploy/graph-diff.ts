import { createHash } from 'node:crypto';
import type { GraphArtifact } from '@slate/graph';

/** Names added, removed and changed between two graphs, each sorted. */
export interface NameChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

/** A schedule whose timing changed: a cron resolver's `cron` or a scheduled query's definition. */
export interface ScheduleChange {
  /** `resolver <fqn>` or `query <name>`. */
  readonly name: string;
  readonly before: string;
  readonly after: string;
}

/** What deploying `after` changes against the active deployment's graph (`before`). */
export interface GraphDiff {
  /** Features by FQN; a feature changes when any of its definition but its source location does. */
  readonly features: NameChanges;
  /** Resolvers by FQN, compared by their declared shape (inputs, outputs, kind, cron…), not their code. */
  readonly resolvers: NameChanges;
  readonly schedules: {
    readonly added: readonly ScheduleChange[];
    readonly removed: readonly ScheduleChange[];
    readonly changed: readonly ScheduleChange[];
  };
}

/**
 * Compares two graph artifacts. `before` undefined (nothing deployed yet) counts every definition as added.
 * Source locations are ignored, so moving code around a file is no change.
 *
 * @example
 * const diff = diffGraphs(activeGraph, build.artifact);
 * if (isEmptyDiff(diff)) console.log('graph unchanged');
 */
export function diffGraphs(before: GraphArtifact | undefined, after: GraphArtifact): GraphDiff {
  const features = (graph: GraphArtifact | undefined) =>
    new Map(
      (graph?.namespaces ?? []).flatMap((ns) =>
        ns.features.map((f) => [f.fqn, canonicalJson(withoutSource(f))]),
      ),
    );
  const resolvers = (graph: GraphArtifact | undefined) =>
    new Map((graph?.resolvers ?? []).map((r) => [r.fqn, canonicalJson(withoutSource(r))]));
  return {
    features: compare(features(before), features(after)),
    resolvers: compare(resolvers(before), resolvers(after)),
    schedules: compareSchedules(schedules(before), schedules(after)),
  };
}

/** The diff changes nothing in the graph (the code of resolvers may still differ: see the source hash). */
export function isEmptyDiff(diff: GraphDiff): boolean {
  const empty = (c: {
    added: readonly unknown[];
    removed: readonly unknown[];
    changed: readonly unknown[];
  }) => c.added.length + c.removed.length + c.changed.length === 0;
  return empty(diff.features) && empty(diff.resolvers) && empty(diff.schedules);
}

/**
 * Hex sha256 identifying one change: the graph diff and the bundles it goes from and to, in a canonical
 * JSON form, so the same plan always hashes the same (recorded with the deployment).
 */
export function diffHash(diff: GraphDiff, fromSourceHash: string | null, toSourceHash: string): string {
  return createHash('sha256')
    .update(canonicalJson({ diff, from: fromSourceHash, to: toSourceHash }))
    .digest('hex');
}

/** The human lines of a diff: `+ feature user.age`, `~ schedule resolver x: "1h" → "2h"`. */
export function formatGraphDiff(diff: GraphDiff): string[] {
  const lines: string[] = [];
  const names = (noun: string, changes: NameChanges) => {
    for (const name of changes.added) lines.push(`+ ${noun} ${name}`);
    for (const name of changes.removed) lines.push(`- ${noun} ${name}`);
    for (const name of changes.changed) lines.push(`~ ${noun} ${name}`);
  };
  names('feature', diff.features);
  names('resolver', diff.resolvers);
  for (const s of diff.schedules.added) lines.push(`+ schedule ${s.name}: ${s.after}`);
  for (const s of diff.schedules.removed) lines.push(`- schedule ${s.name}: ${s.before}`);
  for (const s of diff.schedules.changed) lines.push(`~ schedule ${s.name}: ${s.before} → ${s.after}`);
  return lines;
}

function compare(before: Map<string, string>, after: Map<string, string>): NameChanges {
  const sorted = (names: Iterable<string>) => [...names].sort();
  return {
    added: sorted([...after.keys()].filter((name) => !before.has(name))),
    removed: sorted([...before.keys()].filter((name) => !after.has(name))),
    changed: sorted(
      [...after.keys()].filter((name) => before.has(name) && before.get(name) !== after.get(name)),
    ),
  };
}

interface ScheduleEntry {
  /** What a person reads: the cron or duration. */
  readonly shown: string;
  /** What is compared: for a scheduled query, its whole definition. */
  readonly compared: string;
}

/** Schedules by name: cron resolvers and scheduled queries. */
function schedules(graph: GraphArtifact | undefined): Map<string, ScheduleEntry> {
  const entries = new Map<string, ScheduleEntry>();
  for (const resolver of graph?.resolvers ?? [])
    if (resolver.cron) {
      const shown = JSON.stringify(resolver.cron);
      entries.set(`resolver ${resolver.fqn}`, { shown, compared: shown });
    }
  for (const query of graph?.scheduledQueries ?? []) {
    const { source: _source, ...definition } = query;
    entries.set(`query ${query.name}`, {
      shown: JSON.stringify(query.schedule),
      compared: canonicalJson(definition),
    });
  }
  return entries;
}

function compareSchedules(
  before: Map<string, ScheduleEntry>,
  after: Map<string, ScheduleEntry>,
): GraphDiff['schedules'] {
  const compared = (entries: Map<string, ScheduleEntry>) =>
    new Map([...entries].map(([name, entry]) => [name, entry.compared]));
  const names = compare(compared(before), compared(after));
  const change = (name: string): ScheduleChange => ({
    name,
    before: before.get(name)?.shown ?? '',
    after: after.get(name)?.shown ?? '',
  });
  return {
    added: names.added.map(change),
    removed: names.removed.map(change),
    changed: names.changed.map(change),
  };
}

function withoutSource<T extends { source?: unknown }>(value: T): Omit<T, 'source'> {
  const { source: _source, ...rest } = value;
  return rest;
}

/** JSON with object keys sorted at every level, so equal values always print the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
