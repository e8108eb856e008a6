import { type FileHandle, mkdir, open, readdir } from 'node:fs/promises';
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
  /** Byte position of each record in the file; record `base + i` starts at `positions[i]`. */
  readonly positions: number[];
  size: number;
}

const HEADER_BYTES = 8;
const SEGMENT_NAME = /^(\d{20})\.log$/;

/**
 * A topic's append-only log: segment files `<base offset, 20 digits>.log` in one folder, each a run of
 * records framed as `[u32 length][u32 crc32][JSON body]`. A crash mid-append leaves a torn tail, which
 * `open` detects by length and checksum and cuts off, so a record is either wholly in the log or not at
 * all. Offsets are record numbers counted from 0 across segments.
 */
export class LogTopic {
  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly sync: boolean,
    private readonly segments: Segment[],
  ) {}

  private tail: Promise<unknown> = Promise.resolve();

  /** Number of records; the next offset. */
  get count(): number {
    const last = this.segments.at(-1);
    return last ? last.base + last.positions.length : 0;
  }

  static async open(dir: string, segmentBytes: number, sync: boolean): Promise<LogTopic> {
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).filter((name) => SEGMENT_NAME.test(name)).sort();
    const segments: Segment[] = [];
    for (const [index, name] of names.entries()) {
      const handle = await open(join(dir, name), 'r+');
      const bytes = await handle.readFile();
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
      if (at < bytes.length) {
        // A torn write can only be at the end of the newest segment; anywhere else the log is corrupt.
        if (index !== names.length - 1) {
          await handle.close();
          throw new Error(`corrupt segment ${join(dir, name)} at byte ${at}`);
        }
        await handle.truncate(at);
      }
      segments.push({ base: Number(SEGMENT_NAME.exec(name)![1]), handle, positions, size: at });
    }
    return new LogTopic(dir, segmentBytes, sync, segments);
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
      for (const position of pending) segment.positions.push(position);
      pending = [];
      chunks = [];
      chunkBytes = 0;
    };
    for (const record of records) {
      if (segment.size + chunkBytes >= this.segmentBytes && segment.positions.length + pending.length > 0) {
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
      offsets.push(segment.base + segment.positions.length + pending.length - 1);
      chunks.push(frame, body);
      chunkBytes += HEADER_BYTES + body.length;
    }
    await flush();
    return offsets;
  }

  private async roll(): Promise<Segment> {
    const base = this.count;
    const handle = await open(join(this.dir, `${String(base).padStart(20, '0')}.log`), 'w+');
    const segment: Segment = { base, handle, positions: [], size: 0 };
    this.segments.push(segment);
    return segment;
  }

  /** Reads up to `max` consecutive records starting at `from` (fewer at the end of the log). */
  async read(from: number, max: number): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    let offset = from;
    while (out.length < max && offset < this.count) {
      const segment = this.segmentOf(offset);
      const first = offset - segment.base;
      const last = Math.min(segment.positions.length, first + (max - out.length));
      const start = segment.positions[first]!;
      const end = last < segment.positions.length ? segment.positions[last]! : segment.size;
      const bytes = Buffer.allocUnsafe(end - start);
      await segment.handle.read(bytes, 0, bytes.length, start);
      for (let i = first; i < last; i++) {
        const at = segment.positions[i]! - start;
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
