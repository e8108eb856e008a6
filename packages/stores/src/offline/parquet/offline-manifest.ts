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
  /**
   * A checkpoint's: the commit keys it replaces. It holds their folded state (visible files, recent batch
   * ids, recent removals), and those commit files are deleted after it is written.
   */
  readonly supersedes?: readonly string[];
}

/** How many batch ids a manifest remembers for idempotent writes, by default (see `OfflineManifest`). */
export const DEFAULT_DEDUPE_IDS = 200_000;
/** Commits after which a manifest writes a checkpoint, by default (see `OfflineManifest`). */
export const DEFAULT_CHECKPOINT_EVERY = 128;

/**
 * The offline store's manifest: a folder of commit files (`<prefix>/_commits/<time>-<uuid>.json`), each
 * written with one atomic `put` after its data files. A reader sees the union of the commits it lists, so
 * data files written by a writer that crashed before its commit are never visible. Commits only add or
 * remove whole files, so they commute and concurrent writers need no lock. Commit files are immutable:
 * each is read once and applied to the folded state incrementally (a refresh costs the new commits, not
 * all of them; a removal seen before its add still wins).
 *
 * Bounded whatever the number of writes: every `checkpointEvery` commits the manifest writes a
 * checkpoint — a commit holding the folded state (the visible files, the recent batch ids, the recent
 * removals) that names the commits it replaces — and deletes those commit files. So the commit folder, the
 * cost of listing it on every refresh, and the applied keys stay below about `checkpointEvery` entries;
 * the visible files are bounded by compaction (`compactTouched`); removed keys are kept for two
 * checkpoint intervals (so a commit from a process that had not seen a removal yet cannot bring a file
 * back), and the batch ids that make writes idempotent for the most recent `dedupeIds` batches (oldest
 * forgotten first, in commit-time order). A batch redelivered after that many newer batches were
 * committed would be written again; the buses redeliver only what was not acknowledged (a crash between a
 * commit and its acknowledgement, a consumer idle for 30 s), which is far inside that horizon.
 */
export class OfflineManifest {
  /** Keys of the commit files applied (or replaced by an applied checkpoint) that still exist. */
  private applied = new Set<string>();
  private readonly files = new Map<string, DataFile>();
  /** Files removed since the last checkpoint, and in the interval before it. */
  private removed = new Set<string>();
  private removedBefore = new Set<string>();
  /** Batch id → nothing; insertion order is commit order, so the first entries are the oldest. */
  private readonly ids = new Set<string>();
  /** Commits applied since the last checkpoint (written here or read). */
  private sinceCheckpoint = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly prefix: string,
    private readonly dedupeIds = DEFAULT_DEDUPE_IDS,
    private readonly checkpointEvery = DEFAULT_CHECKPOINT_EVERY,
  ) {}

  /** Commit files the manifest knows of (what a checkpoint bounds). */
  get commitCount(): number {
    return this.applied.size;
  }

  /** When the commit folder was last listed (`Date.now()`). */
  private listedAt = Number.NEGATIVE_INFINITY;

  /**
   * Reads commits written since the last refresh (by this or another process). With `maxAgeMs`, does
   * nothing when the folder was listed less than that long ago (this process's own commits are applied
   * as they are written; see the store's `writeRefreshMs` for why writes may skip a listing).
   */
  async refresh(signal?: AbortSignal, maxAgeMs = 0): Promise<void> {
    if (Date.now() - this.listedAt < maxAgeMs) return;
    this.listedAt = Date.now();
    const listed = new Set<string>();
    for await (const info of this.store.list('data', `${this.prefix}/_commits/`, signal)) {
      if (!info.key.endsWith('.json')) continue;
      listed.add(info.key);
      if (this.applied.has(info.key)) continue;
      const body = await this.store.get('data', info.key, signal);
      if (!body) continue;
      this.apply(info.key, JSON.parse(Buffer.from(body).toString('utf8')) as Commit);
    }
    // Commit files deleted after a checkpoint replaced them are forgotten (keys are never reused).
    if (listed.size < this.applied.size)
      this.applied = new Set([...this.applied].filter((k) => listed.has(k)));
  }

  private isRemoved(key: string): boolean {
    return this.removed.has(key) || this.removedBefore.has(key);
  }

  private apply(key: string, commit: Commit, own = false): void {
    this.applied.add(key);
    if (commit.supersedes) {
      for (const replaced of commit.supersedes) this.applied.add(replaced);
      this.sinceCheckpoint = 0;
    } else this.sinceCheckpoint++;
    for (const file of commit.adds) if (!this.isRemoved(file.key)) this.files.set(file.key, file);
    // A checkpoint's removals are old ones: they age out at the next checkpoint. Our own are already held.
    const into = commit.supersedes ? this.removedBefore : this.removed;
    for (const removed of commit.removes) {
      if (!own || !commit.supersedes) into.add(removed);
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

  /**
   * Writes a commit (its data files must already be stored) and applies it locally; every
   * `checkpointEvery` commits, then writes a checkpoint and deletes the commit files it replaces.
   */
  async commit(change: Omit<Commit, 'id' | 'at' | 'supersedes'>): Promise<Commit> {
    const commit = await this.put(change);
    if (this.sinceCheckpoint >= this.checkpointEvery) await this.checkpoint();
    return commit;
  }

  private async put(change: Omit<Commit, 'id' | 'at'>): Promise<Commit> {
    const at = Date.now();
    const commit: Commit = { id: randomUUID(), at, ...change };
    const key = `${this.prefix}/_commits/${String(at).padStart(15, '0')}-${commit.id}.json`;
    await this.store.put('data', key, JSON.stringify(commit), { contentType: 'application/json' });
    this.apply(key, commit, true);
    return commit;
  }

  /**
   * Writes the folded state as one commit replacing every commit applied so far, then deletes those. A
   * reader that listed a replaced commit before its deletion finds it gone and skips it (the checkpoint,
   * listed after it, holds its content); a commit written meanwhile by another process is not replaced.
   */
  private async checkpoint(): Promise<void> {
    const supersedes = [...this.applied];
    const removes = [...this.removedBefore, ...this.removed];
    // Removals older than the previous checkpoint are forgotten; this one carries the two last intervals.
    this.removedBefore = this.removed;
    this.removed = new Set();
    await this.put({ ids: [...this.ids], adds: [...this.files.values()], removes, supersedes });
    for (const key of supersedes) await this.store.delete('data', key);
    for (const key of supersedes) this.applied.delete(key);
  }
}
