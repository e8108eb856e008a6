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

/** How many batch ids a manifest remembers for idempotent writes, by default (see `OfflineManifest`). */
export const DEFAULT_DEDUPE_IDS = 200_000;

/**
 * The offline store's manifest: a folder of commit files (`<prefix>/_commits/<time>-<uuid>.json`), each
 * written with one atomic `put` after its data files. A reader sees the union of the commits it lists, so
 * data files written by a writer that crashed before its commit are never visible. Commits only add or
 * remove whole files, so they commute and concurrent writers need no lock. Commit files are immutable:
 * each is read once and applied to the folded state incrementally (a refresh costs the new commits, not
 * all of them; a removal seen before its add still wins).
 *
 * Memory is bounded apart from the visible files themselves: only the keys of applied commits are kept,
 * and the batch ids that make writes idempotent are remembered for the most recent `dedupeIds` batches
 * (oldest forgotten first, in commit-time order). A batch redelivered after that many newer batches were
 * committed would be written again; the buses redeliver only what was not acknowledged (a crash between a
 * commit and its acknowledgement, a consumer idle for 30 s), which is far inside that horizon.
 */
export class OfflineManifest {
  private readonly applied = new Set<string>();
  private readonly files = new Map<string, DataFile>();
  private readonly removed = new Set<string>();
  /** Batch id → nothing; insertion order is commit order, so the first entries are the oldest. */
  private readonly ids = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly prefix: string,
    private readonly dedupeIds = DEFAULT_DEDUPE_IDS,
  ) {}

  /** Reads commits written since the last refresh (by this or another process). */
  async refresh(signal?: AbortSignal): Promise<void> {
    for await (const info of this.store.list('data', `${this.prefix}/_commits/`, signal)) {
      if (this.applied.has(info.key) || !info.key.endsWith('.json')) continue;
      const body = await this.store.get('data', info.key, signal);
      if (!body) continue;
      this.apply(info.key, JSON.parse(Buffer.from(body).toString('utf8')) as Commit);
    }
  }

  private apply(key: string, commit: Commit): void {
    this.applied.add(key);
    for (const file of commit.adds) if (!this.removed.has(file.key)) this.files.set(file.key, file);
    for (const removed of commit.removes) {
      this.removed.add(removed);
      this.files.delete(removed);
    }
    for (const id of commit.ids) {
      // Re-inserted ids move to the young end, so an id is forgotten by when it was last committed.
      this.ids.delete(id);
      this.ids.add(id);
    }
    if (this.ids.size > this.dedupeIds) {
      let excess = this.ids.size - this.dedupeIds;
      for (const id of this.ids) {
        if (excess-- <= 0) break;
        this.ids.delete(id);
      }
    }
  }

  /** True when a batch with this id was committed (among the most recent `dedupeIds`). */
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
    this.apply(key, commit);
    return commit;
  }
}
