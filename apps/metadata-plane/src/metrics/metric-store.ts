import {
  type LogHistogram,
  type MetricReport,
  MetricReportSchema,
  mergeLogHistograms,
  parseDuration,
  SlateError,
} from '@slate/graph';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import {
  accumulatorOf,
  emptyAccumulator,
  METRIC_AGGREGATIONS,
  METRIC_NAMES,
  type MetricAccumulator,
  type MetricAggregation,
  type MetricName,
  metricDefinition,
} from './metric-catalog.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** How long each resolution is kept (ADR 0020). */
export interface MetricRetention {
  /** Per-minute points; default 2 days. Reports of older minutes are refused (`stale`). */
  readonly minuteMs: number;
  /** Per-hour points; default 90 days. */
  readonly hourMs: number;
}

export const DEFAULT_METRIC_RETENTION: MetricRetention = {
  minuteMs: 2 * 86_400_000,
  hourMs: 90 * 86_400_000,
};

/** The most windows one series query may return. */
export const MAX_SERIES_WINDOWS = 2_000;
/** The most groups one `group_by` query returns (the busiest first). */
export const MAX_SERIES_GROUPS = 50;

/**
 * A series request: one metric of one environment over `[from, to)`, cut into `window`-wide buckets
 * aligned on the epoch, reduced by `aggregation`, optionally restricted to some names and grouped by name.
 */
export const SeriesQuerySchema = z.object({
  metric: z.enum(METRIC_NAMES),
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  /** Bucket width (`"1m"`, `"5m"`, `"1h"`, `"1d"`), a whole number of minutes; default `1m`. */
  window: z.string().max(20).default('1m'),
  /** Defaults to the metric's first aggregation (`sum`, `p50`... see `METRICS`). */
  aggregation: z.enum(METRIC_AGGREGATIONS).optional(),
  /** Only these series names (query names, resolver or feature FQNs). */
  name: z
    .union([z.string().min(1).max(300), z.array(z.string().min(1).max(300)).max(100)])
    .optional()
    .transform((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v])),
  /** `name`: one series per name; omitted: every name merged into one series. */
  group_by: z.enum(['name']).optional(),
});
export type SeriesQuery = z.input<typeof SeriesQuerySchema>;

/** A series answer: shared bucket starts and one value per bucket per group. */
export interface SeriesResult {
  readonly metric: MetricName;
  readonly aggregation: MetricAggregation;
  readonly window_seconds: number;
  /** The stored resolution read: `1m` for windows under an hour (or not whole hours), `1h` otherwise. */
  readonly resolution: '1m' | '1h';
  readonly from: string;
  readonly to: string;
  /** Bucket starts, epoch seconds, oldest first (every bucket in range, with or without data). */
  readonly timestamps: number[];
  /** One entry per group (a single `{ name: null }` entry without `group_by`). */
  readonly series: { name: string | null; values: (number | null)[] }[];
}

/** What happened to a report's points. */
export interface MetricReportOutcome {
  /** Points stored now. */
  readonly recorded: number;
  /** Points already counted from an earlier delivery of the same report. */
  readonly duplicates: number;
  /** Points for environments the reporting data plane does not serve. */
  readonly ignored: number;
  /** Points for minutes past the minute retention (their receipts may be gone, so counting them could double). */
  readonly stale: number;
}

/**
 * The metadata plane's store of metric rollups: data planes' reports in, series out. `querySeries` is the
 * reader alert evaluation and charts use; it is stable.
 */
export interface MetricStore {
  /**
   * Stores a data plane's report. Each point counts once per (source, environment, kind, name, minute):
   * a receipt is inserted first, and only points whose receipt is new are added into the minute and hour
   * rows, in one transaction, so a retried or concurrent delivery adds nothing.
   * @throws SlateError input (zod) for a malformed report.
   */
  record(dataPlaneId: string, report: MetricReport): Promise<MetricReportOutcome>;
  /**
   * Reads one metric's series for an environment.
   * @throws SlateError input `INVALID_RANGE` (to not after from, too many windows), `INVALID_WINDOW`
   *   (not whole minutes, or under an hour before the minute retention), `INVALID_AGGREGATION` (not one of
   *   the metric's).
   * @example
   * await store.querySeries('prod', { metric: 'query_latency', aggregation: 'p99', window: '5m',
   *   from: '2026-03-01T10:00:00Z', to: '2026-03-01T11:00:00Z', group_by: 'name' });
   */
  querySeries(environmentId: string, query: SeriesQuery): Promise<SeriesResult>;
  /** Deletes points and receipts past retention; returns how many rows went. */
  prune(): Promise<{ points: number; receipts: number }>;
}

type PointRow = {
  environment_id: string;
  kind: string;
  name: string;
  bucket: Date;
  acc: MetricAccumulator;
};

/**
 * Creates the store over the metadata plane's database.
 * @example
 * const metrics = createMetricStore(db);
 * await metrics.record(dataPlane.id, report);
 */
export function createMetricStore(
  db: Kysely<Database>,
  options: { retention?: MetricRetention; now?: () => number } = {},
): MetricStore {
  const retention = options.retention ?? DEFAULT_METRIC_RETENTION;
  const now = options.now ?? Date.now;

  return {
    async record(dataPlaneId, report) {
      const parsed = MetricReportSchema.parse(report);
      const source = `${dataPlaneId}/${parsed.source}`;
      const oldest = now() - retention.minuteMs;
      return db.transaction().execute(async (trx) => {
        const served = new Set(
          (
            await trx
              .selectFrom('environments')
              .select('id')
              .where('data_plane_id', '=', dataPlaneId)
              .execute()
          ).map((e) => e.id),
        );
        let ignored = 0;
        let stale = 0;
        // Points of one report are merged by key first: a multi-row upsert may touch a row only once.
        const minutes = new Map<string, PointRow>();
        for (const p of parsed.points) {
          if (!served.has(p.environment_id)) {
            ignored++;
            continue;
          }
          const minute = Math.floor(Date.parse(p.minute) / MINUTE) * MINUTE;
          if (minute < oldest) {
            stale++;
            continue;
          }
          const acc: MetricAccumulator = {
            count: p.count,
            errors: p.errors,
            nulls: p.nulls,
            hits: p.hits,
            misses: p.misses,
            sum: p.sum,
            min: p.min,
            max: p.max,
            hist: p.hist,
          };
          const key = `${p.environment_id}\u0000${p.kind}\u0000${p.name}\u0000${minute}`;
          const existing = minutes.get(key);
          if (existing) mergeAccumulator(existing.acc, acc);
          else
            minutes.set(key, {
              environment_id: p.environment_id,
              kind: p.kind,
              name: p.name,
              bucket: new Date(minute),
              acc,
            });
        }
        let fresh: PointRow[] = [];
        for (const chunk of chunks([...minutes.values()], 1_000)) {
          const inserted = await trx
            .insertInto('metric_receipts')
            .values(
              chunk.map((p) => ({
                source,
                environment_id: p.environment_id,
                kind: p.kind,
                name: p.name,
                minute: p.bucket,
              })),
            )
            .onConflict((oc) =>
              oc.columns(['source', 'environment_id', 'kind', 'name', 'minute']).doNothing(),
            )
            .returning(['environment_id', 'kind', 'name', 'minute'])
            .execute();
          const isNew = new Set(
            inserted.map(
              (r) => `${r.environment_id}\u0000${r.kind}\u0000${r.name}\u0000${r.minute.getTime()}`,
            ),
          );
          fresh = fresh.concat(
            chunk.filter((p) =>
              isNew.has(`${p.environment_id}\u0000${p.kind}\u0000${p.name}\u0000${p.bucket.getTime()}`),
            ),
          );
        }
        const hours = new Map<string, PointRow>();
        for (const p of fresh) {
          const hour = Math.floor(p.bucket.getTime() / HOUR) * HOUR;
          const key = `${p.environment_id}\u0000${p.kind}\u0000${p.name}\u0000${hour}`;
          const existing = hours.get(key);
          if (existing) mergeAccumulator(existing.acc, p.acc);
          else hours.set(key, { ...p, bucket: new Date(hour), acc: cloneAccumulator(p.acc) });
        }
        await upsertPoints(trx, '1m', fresh);
        await upsertPoints(trx, '1h', [...hours.values()]);
        return {
          recorded: fresh.length,
          duplicates: minutes.size - fresh.length,
          ignored,
          stale,
        };
      });
    },

    async querySeries(environmentId, input) {
      const q = SeriesQuerySchema.parse(input);
      const definition = metricDefinition(q.metric);
      const aggregation = q.aggregation ?? definition.aggregations[0]!;
      if (!(definition.aggregations as readonly string[]).includes(aggregation)) {
        throw new SlateError(
          'input',
          'INVALID_AGGREGATION',
          `${q.metric} takes one of ${definition.aggregations.join(', ')}, not ${aggregation}`,
        );
      }
      const windowSeconds = parseWindow(q.window);
      const windowMs = windowSeconds * 1000;
      const from = Math.floor(Date.parse(q.from) / windowMs) * windowMs;
      const to = Date.parse(q.to);
      if (!(to > from)) throw new SlateError('input', 'INVALID_RANGE', 'to must be after from');
      const windows = Math.ceil((to - from) / windowMs);
      if (windows > MAX_SERIES_WINDOWS) {
        throw new SlateError(
          'input',
          'INVALID_RANGE',
          `the range holds ${windows} windows of ${q.window}; at most ${MAX_SERIES_WINDOWS}: widen the window`,
        );
      }
      // Minute points are read while they are kept and the window needs them; whole hours read hour points.
      const resolution: '1m' | '1h' = windowMs % HOUR === 0 ? '1h' : '1m';
      if (resolution === '1m' && from < now() - retention.minuteMs) {
        throw new SlateError(
          'input',
          'INVALID_WINDOW',
          `windows under an hour (or not whole hours) reach back ${retention.minuteMs / 3_600_000} hours; use 1h or wider windows for older data`,
        );
      }
      let select = db
        .selectFrom('metric_points')
        .selectAll()
        .where('environment_id', '=', environmentId)
        .where('resolution', '=', resolution)
        .where('kind', '=', definition.kind)
        .where('bucket', '>=', new Date(resolution === '1h' ? Math.floor(from / HOUR) * HOUR : from))
        .where('bucket', '<', new Date(to));
      if (q.name) select = select.where('name', 'in', q.name);
      const rows = await select.execute();

      const groups = new Map<string | null, Map<number, MetricAccumulator>>();
      for (const row of rows) {
        const group = q.group_by === 'name' ? row.name : null;
        let buckets = groups.get(group);
        if (!buckets) {
          buckets = new Map();
          groups.set(group, buckets);
        }
        const bucket = Math.floor(row.bucket.getTime() / windowMs) * windowMs;
        const acc = accumulatorOf(row);
        const existing = buckets.get(bucket);
        if (existing) mergeAccumulator(existing, acc);
        else buckets.set(bucket, acc);
      }
      if (groups.size === 0 && q.group_by === undefined) groups.set(null, new Map());
      const timestamps: number[] = [];
      for (let t = from; t < to; t += windowMs) timestamps.push(t / 1000);
      const empty = emptyAccumulator();
      const series = [...groups.entries()]
        .map(([name, buckets]) => ({
          name,
          weight: [...buckets.values()].reduce((n, a) => n + a.count, 0),
          values: timestamps.map((t) =>
            definition.value(buckets.get(t * 1000) ?? empty, aggregation, windowSeconds),
          ),
        }))
        .sort((a, b) => b.weight - a.weight || String(a.name).localeCompare(String(b.name)))
        .slice(0, MAX_SERIES_GROUPS)
        .map(({ name, values }) => ({ name, values }));
      return {
        metric: q.metric,
        aggregation,
        window_seconds: windowSeconds,
        resolution,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        timestamps,
        series,
      };
    },

    async prune() {
      const t = now();
      const minutes = await db
        .deleteFrom('metric_points')
        .where('resolution', '=', '1m')
        .where('bucket', '<', new Date(t - retention.minuteMs))
        .executeTakeFirst();
      const hours = await db
        .deleteFrom('metric_points')
        .where('resolution', '=', '1h')
        .where('bucket', '<', new Date(t - retention.hourMs))
        .executeTakeFirst();
      // Receipts outlive their minute points by an hour: reports of older minutes are refused anyway.
      const receipts = await db
        .deleteFrom('metric_receipts')
        .where('minute', '<', new Date(t - retention.minuteMs - HOUR))
        .executeTakeFirst();
      return {
        points: Number(minutes.numDeletedRows) + Number(hours.numDeletedRows),
        receipts: Number(receipts.numDeletedRows),
      };
    },
  };
}

/** A window as seconds: a whole number of minutes, at most 30 days. */
function parseWindow(text: string): number {
  let seconds: number | null;
  try {
    seconds = parseDuration(text);
  } catch {
    seconds = null;
  }
  if (seconds === null || seconds < 60 || seconds % 60 !== 0 || seconds > 30 * 86_400) {
    throw new SlateError(
      'input',
      'INVALID_WINDOW',
      `window ${JSON.stringify(text)} must be a whole number of minutes, from 1m to 30d`,
    );
  }
  return seconds;
}

async function upsertPoints(
  trx: Kysely<Database>,
  resolution: '1m' | '1h',
  points: PointRow[],
): Promise<void> {
  for (const chunk of chunks(points, 500)) {
    if (chunk.length === 0) continue;
    await trx
      .insertInto('metric_points')
      .values(
        chunk.map((p) => ({
          environment_id: p.environment_id,
          resolution,
          kind: p.kind,
          name: p.name,
          bucket: p.bucket,
          count: p.acc.count,
          errors: p.acc.errors,
          nulls: p.acc.nulls,
          hits: p.acc.hits,
          misses: p.acc.misses,
          sum: p.acc.sum,
          min: p.acc.min,
          max: p.acc.max,
          hist: p.acc.hist === null ? null : JSON.stringify(p.acc.hist),
        })),
      )
      .onConflict((oc) =>
        oc.columns(['environment_id', 'resolution', 'kind', 'name', 'bucket']).doUpdateSet({
          count: sql`metric_points.count + excluded.count`,
          errors: sql`metric_points.errors + excluded.errors`,
          nulls: sql`metric_points.nulls + excluded.nulls`,
          hits: sql`metric_points.hits + excluded.hits`,
          misses: sql`metric_points.misses + excluded.misses`,
          sum: sql`metric_points.sum + excluded.sum`,
          // least/greatest ignore nulls.
          min: sql`least(metric_points.min, excluded.min)`,
          max: sql`greatest(metric_points.max, excluded.max)`,
          // Merging sketches is adding counts per bucket key.
          hist: sql`case when metric_points.hist is null then excluded.hist when excluded.hist is null then metric_points.hist else (
            select jsonb_object_agg(k, v) from (
              select key as k, sum(value::float8) as v from (
                select * from jsonb_each_text(metric_points.hist) union all select * from jsonb_each_text(excluded.hist)
              ) as both_sides group by key
            ) as merged
          ) end`,
        }),
      )
      .execute();
  }
}

function cloneAccumulator(acc: MetricAccumulator): MetricAccumulator {
  return { ...acc, hist: acc.hist ? { ...acc.hist } : null };
}

/** Adds `from` into `into`. */
export function mergeAccumulator(into: MetricAccumulator, from: MetricAccumulator): void {
  into.count += from.count;
  into.errors += from.errors;
  into.nulls += from.nulls;
  into.hits += from.hits;
  into.misses += from.misses;
  into.sum += from.sum;
  into.min = into.min === null ? from.min : from.min === null ? into.min : Math.min(into.min, from.min);
  into.max = into.max === null ? from.max : from.max === null ? into.max : Math.max(into.max, from.max);
  if (from.hist) into.hist = mergeLogHistograms(into.hist ?? {}, from.hist);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
