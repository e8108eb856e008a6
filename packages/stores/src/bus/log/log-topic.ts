import { type FileHandle, mkdir, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** One stored record of a topic. */
export interface LogRecord {
  readonly offset: number;
  readonly id: string;
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
  readonly publishedAt: number;
}

interface Segment {
  readonly base: number;
  readonly handle: FileHandle;
  /** Records in the segment. */
  count: number;
  /**
   * Byte position of each record in the file (record `base + i` starts at `positions[i]`), or undefined
   * when not held: the newest segment always holds them (appends extend them); a sealed segment's are
   * rebuilt by scanning its file when it is read, and kept for the `indexedSegments` most recently read.
   */
  positions: number[] | undefined;
  size: number;
}

const HEADER_BYTES = 8;
const SEGMENT_NAME = /^(\d{20})\.log$/;

/** Sealed segments whose record positions stay in memory (the most recently read), by default. */
export const DEFAULT_INDEXED_SEGMENTS = 2;

/** Scans framed records: the byte position of each whole, intact record, and where the last one ends. */
function scan(bytes: Buffer): { positions: number[]; end: number } {
  const positions: number[] = [];
  let at = 0;
  while (at + HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(at);
    const end = at + HEADER_BYTES + length;
    if (end > bytes.length) break;
    if (crc32(bytes.subarray(at + HEADER_BYTES, end)) !== bytes.readUInt32LE(at + 4)) break;
    positions.push(at);
    at = end;
  }
  return { positions, end: at };
}

/**
 * A topic's append-only log: segment files `<base offset, 20 digits>.log` in one folder, each a run of
 * records framed as `[u32 length][u32 crc32][JSON body]`. A crash mid-append leaves a torn tail, which
 * `open` detects by length and checksum and cuts off, so a record is either wholly in the log or not at
 * all. Offsets are record numbers counted from 0 across segments.
 *
 * Memory is bounded whatever the log's length: record positions are held for the newest segment and the
 * `indexedSegments` sealed segments read most recently (at most one segment's records each, which
 * `segmentBytes` bounds); reading another sealed segment rescans its file. `retire` deletes sealed
 * segments every consumer is done with, which bounds the disk too.
 */
export class LogTopic {
  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly sync: boolean,
    private readonly segments: Segment[],
    private readonly indexedSegments: number,
  ) {}

  private tail: Promise<unknown> = Promise.resolve();
  /** Sealed segments holding their positions, least recently read first. */
  private readonly indexed: Segment[] = [];

  /** Number of records ever appended; the next offset. */
  get count(): number {
    const last = this.segments.at(-1);
    return last ? last.base + last.count : 0;
  }

  /** The first offset still stored (offsets below it were retired). */
  get start(): number {
    return this.segments[0]?.base ?? 0;
  }

  /** Record positions held in memory, over all segments (what `indexedSegments` bounds). */
  get indexedRecords(): number {
    return this.segments.reduce((sum, segment) => sum + (segment.positions?.length ?? 0), 0);
  }

  /** True when `retire(offset)` would delete a segment. */
  retirable(offset: number): boolean {
    const first = this.segments[0];
    return this.segments.length > 1 && first !== undefined && first.base + first.count <= offset;
  }

  /** Segment files stored. */
  get segmentCount(): number {
    return this.segments.length;
  }

  static async open(
    dir: string,
    segmentBytes: number,
    sync: boolean,
    indexedSegments = DEFAULT_INDEXED_SEGMENTS,
  ): Promise<LogTopic> {
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).filter((name) => SEGMENT_NAME.test(name)).sort();
    const segments: Segment[] = [];
    for (const [index, name] of names.entries()) {
      const handle = await open(join(dir, name), 'r+');
      const bytes = await handle.readFile();
      const { positions, end: at } = scan(bytes);
      if (at < bytes.length) {
        // A torn write can only be at the end of the newest segment; anywhere else the log is corrupt.
        if (index !== names.length - 1) {
          await handle.close();
          throw new Error(`corrupt segment ${join(dir, name)} at byte ${at}`);
        }
        await handle.truncate(at);
      }
      const last = index === names.length - 1;
      segments.push({
        base: Number(SEGMENT_NAME.exec(name)![1]),
        handle,
        count: positions.length,
        positions: last ? positions : undefined,
        size: at,
      });
    }
    return new LogTopic(dir, segmentBytes, sync, segments, indexedSegments);
  }

  /** The segment's record positions, rescanning a sealed segment's file when they are not held. */
  private async positionsOf(segment: Segment): Promise<number[]> {
    if (segment.positions) {
      const at = this.indexed.indexOf(segment);
      if (at >= 0) this.indexed.push(...this.indexed.splice(at, 1));
      return segment.positions;
    }
    const bytes = Buffer.allocUnsafe(segment.size);
    await segment.handle.read(bytes, 0, segment.size, 0);
    const { positions } = scan(bytes);
    segment.positions = positions;
    this.indexed.push(segment);
    while (this.indexed.length > this.indexedSegments) this.indexed.shift()!.positions = undefined;
    return positions;
  }

  /**
   * Deletes the sealed segments whose records are all below `offset` (every consumer acknowledged them);
   * the newest segment is kept. Runs after the appends in progress. Resolves with the segments deleted.
   */
  retire(offset: number): Promise<number> {
    const run = this.tail.then(async () => {
      let retired = 0;
      while (this.segments.length > 1 && this.segments[0]!.base + this.segments[0]!.count <= offset) {
        const segment = this.segments.shift()!;
        const at = this.indexed.indexOf(segment);
        if (at >= 0) this.indexed.splice(at, 1);
        await segment.handle.close();
        await unlink(join(this.dir, `${String(segment.base).padStart(20, '0')}.log`));
        retired++;
      }
      return retired;
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /** Appends records in order, one write per segment touched; resolves with their offsets. */
  append(records: readonly Omit<LogRecord, 'offset'>[]): Promise<number[]> {
    const run = this.tail.then(() => this.appendNow(records));
    this.tail = run.catch(() => {});
    return run;
  }

  private async appendNow(records: readonly Omit<LogRecord, 'offset'>[]): Promise<number[]> {
    const offsets: number[] = [];
    let segment = this.segments.at(-1) ?? (await this.roll());
    let chunks: Buffer[] = [];
    let chunkBytes = 0;
    // Positions become visible to readers (`count`, `read`) only once their bytes are written: a poll
    // during an append must not read past the end of the file.
    let pending: number[] = [];
    const flush = async () => {
      if (chunks.length === 0) return;
      await segment.handle.write(Buffer.concat(chunks, chunkBytes), 0, chunkBytes, segment.size);
      if (this.sync) await segment.handle.datasync();
      segment.size += chunkBytes;
      for (const position of pending) segment.positions!.push(position);
      segment.count += pending.length;
      pending = [];
      chunks = [];
      chunkBytes = 0;
    };
    for (const record of records) {
      if (segment.size + chunkBytes >= this.segmentBytes && segment.count + pending.length > 0) {
        await flush();
        segment = await this.roll();
      }
      const body = Buffer.from(
        JSON.stringify({
          i: record.id,
          k: record.key,
          v: record.value,
          t: record.publishedAt,
          h: record.headers,
        }),
      );
      const frame = Buffer.allocUnsafe(HEADER_BYTES);
      frame.writeUInt32LE(body.length, 0);
      frame.writeUInt32LE(crc32(body), 4);
      pending.push(segment.size + chunkBytes);
      offsets.push(segment.base + segment.count + pending.length - 1);
      chunks.push(frame, body);
      chunkBytes += HEADER_BYTES + body.length;
    }
    await flush();
    return offsets;
  }

  private async roll(): Promise<Segment> {
    const base = this.count;
    const handle = await open(join(this.dir, `${String(base).padStart(20, '0')}.log`), 'w+');
    const segment: Segment = { base, handle, count: 0, positions: [], size: 0 };
    const sealed = this.segments.at(-1);
    // The sealed segment's positions become droppable, like any sealed segment's.
    if (sealed) {
      this.indexed.push(sealed);
      while (this.indexed.length > this.indexedSegments) this.indexed.shift()!.positions = undefined;
    }
    this.segments.push(segment);
    return segment;
  }

  /**
   * Reads up to `max` consecutive records starting at `from` (fewer at the end of the log); retired
   * offsets (below `start`) are skipped.
   */
  async read(from: number, max: number): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    let offset = Math.max(from, this.start);
    while (out.length < max && offset < this.count) {
      const segment = this.segmentOf(offset);
      const positions = await this.positionsOf(segment);
      // Positions, count and size change together (after an append's write), so this is one snapshot.
      const count = positions.length;
      const first = offset - segment.base;
      const last = Math.min(count, first + (max - out.length));
      const start = positions[first]!;
      const end = last < count ? positions[last]! : segment.size;
      const bytes = Buffer.allocUnsafe(end - start);
      await segment.handle.read(bytes, 0, bytes.length, start);
      for (let i = first; i < last; i++) {
        const at = positions[i]! - start;
        const length = bytes.readUInt32LE(at);
        const body = JSON.parse(bytes.toString('utf8', at + HEADER_BYTES, at + HEADER_BYTES + length)) as {
          i: string;
          k: string;
          v: string;
          t: number;
          h: Record<string, string>;
        };
        out.push({
          offset: segment.base + i,
          id: body.i,
          key: body.k,
          value: body.v,
          publishedAt: body.t,
          headers: body.h,
        });
      }
      offset = segment.base + last;
    }
    return out;
  }

  private segmentOf(offset: number): Segment {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid]!.base <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.segments[lo]!;
  }

  async close(): Promise<void> {
    await this.tail;
    await Promise.all(this.segments.map((segment) => segment.handle.close()));
  }
}
