import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '../../object/object-store.ts';

/** One data file of the offline store. */
export interface DataFile {
  readonly key: string;
  /** The feature namespace, or `table:<name>` for a record table. */
  readonly namespace: string;
  /** UTC day of the observations (`YYYY-MM-DD`). */
  readonly date: string;
  readonly rows: number;
  readonly bytes: number;
  readonly minObservedAt: number;
  readonly maxObservedAt: number;
  /** The features it holds, when known: a read of one feature opens only the files that hold it. */
  readonly features?: readonly string[];
}

/** A commit: files that became visible and files that stopped being visible, at once. */
export interface Commit {
  readonly id: string;
  /** Ids of the batches (messages) it holds, for idempotent writes. */
  readonly ids: readonly string[];
  readonly adds: readonly DataFile[];
  readonly removes: readonly string[];
  readonly at: number;
}

/**
 * The offline store's manifest: a folder of commit files (`<prefix>/_commits/<time>-<uuid>.json`), each
 * written with one atomic `put` after its data files. A reader sees the union of the commits it lists, so
 * data files written by a writer that crashed before its commit are never visible. Commits only add or
 * remove whole files, so they commute and concurrent writers need no lock. Commit files are immutable and
 * cached once read.
 */
export class OfflineManifest {
  private readonly commits = new Map<string, Commit>();
  private files = new Map<string, DataFile>();
  private ids = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly prefix: string,
  ) {}

  /** Reads commits written since the last refresh (by this or another process). */
  async refresh(signal?: AbortSignal): Promise<void> {
    let changed = false;
    for await (const info of this.store.list('data', `${this.prefix}/_commits/`, signal)) {
      if (this.commits.has(info.key) || !info.key.endsWith('.json')) continue;
      const body = await this.store.get('data', info.key, signal);
      if (!body) continue;
      this.commits.set(info.key, JSON.parse(Buffer.from(body).toString('utf8')) as Commit);
      changed = true;
    }
    if (changed) this.fold();
  }

  private fold(): void {
    const files = new Map<string, DataFile>();
    const removed = new Set<string>();
    const ids = new Set<string>();
    for (const commit of this.commits.values()) {
      for (const file of commit.adds) files.set(file.key, file);
      for (const key of commit.removes) removed.add(key);
      for (const id of commit.ids) ids.add(id);
    }
    for (const key of removed) files.delete(key);
    this.files = files;
    this.ids = ids;
  }

  /** True when a batch with this id was committed. */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Visible files, optionally only of some namespaces and overlapping `[from, to]`. */
  visible(filter: { namespaces?: ReadonlySet<string>; from?: number; to?: number } = {}): DataFile[] {
    return [...this.files.values()].filter(
      (file) =>
        (!filter.namespaces || filter.namespaces.has(file.namespace)) &&
        (filter.from === undefined || file.maxObservedAt >= filter.from) &&
        (filter.to === undefined || file.minObservedAt <= filter.to),
    );
  }

  /** Writes a commit (its data files must already be stored) and applies it locally. */
  async commit(change: Omit<Commit, 'id' | 'at'>): Promise<Commit> {
    const at = Date.now();
    const commit: Commit = { id: randomUUID(), at, ...change };
    const key = `${this.prefix}/_commits/${String(at).padStart(15, '0')}-${commit.id}.json`;
    await this.store.put('data', key, JSON.stringify(commit), { contentType: 'application/json' });
    this.commits.set(key, commit);
    this.fold();
    return commit;
  }
}
