import { SCHEDULE_KINDS, type ScheduleKind } from '@slate/graph';
import { z } from 'zod';

/** What a schedule fires (defined in `@slate/graph`, re-exported for the client's users). */
export { SCHEDULE_KINDS, type ScheduleKind };

/** Chalk's scheduled-resolver control status: `PLAY` fires, `PAUSE` fires nothing until resumed. */
export type ScheduleState = 'PLAY' | 'PAUSE';

/**
 * A schedule of the environment's active deployment (`GET /v1/environments/:id/schedules`, ADR 0004).
 * Unknown fields are kept; `state` is read as text so a newer metadata plane's states do not break older
 * clients.
 */
export const ScheduleSchema = z.looseObject({
  environment_id: z.string(),
  kind: z.string(),
  /** The resolver's FQN or the scheduled query's name. */
  name: z.string(),
  /** A crontab (`0 3 * * *`) or a duration (`1h`). */
  schedule: z.string(),
  state: z.string(),
  deployment_id: z.string().nullish(),
  /** The next due time; null while paused. In the past while the scheduler catches up. */
  next_fire_at: z.string().nullish(),
  last_fired_at: z.string().nullish(),
  updated_at: z.string(),
});
export type Schedule = z.infer<typeof ScheduleSchema>;

export const ScheduleListSchema = z.looseObject({ items: z.array(ScheduleSchema) });

/**
 * One fire of a schedule (`GET …/schedules/:kind/:name/fires`): its delivery to the data plane and, once the
 * data plane reported, the run's or query's status (`QUEUED`, `RUNNING`, `SUCCEEDED`, `FAILED`, `CANCELED`).
 */
export const ScheduleFireSchema = z.looseObject({
  key: z.string(),
  due_at: z.string(),
  /** `pending` (waiting for or leased by the data plane), `accepted` (started) or `dead` (given up). */
  delivery: z.string(),
  attempts: z.number(),
  error: z.string().nullish(),
  /** The run id or offline-query revision id the data plane started. */
  operation_id: z.string().nullish(),
  status: z.string().nullish(),
  created_at: z.string(),
});
export type ScheduleFire = z.infer<typeof ScheduleFireSchema>;

export const ScheduleFireListSchema = z.looseObject({ items: z.array(ScheduleFireSchema) });

/** Which schedule: its kind and name (a resolver FQN or a scheduled query's name). */
export interface ScheduleRef {
  readonly kind: ScheduleKind;
  readonly name: string;
}
