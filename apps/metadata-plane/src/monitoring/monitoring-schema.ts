import type { ColumnType } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

/** A chart trigger or drift check of an environment's active deployment, with its firing watermark. */
export interface MetricChecksTable {
  environment_id: string;
  name: string;
  kind: 'chart' | 'drift';
  every_s: number;
  active: boolean;
  deployment_id: string | null;
  watermark_at: Timestamp;
  last_evaluated_at: Timestamp | null;
  last_value: number | null;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface SeriesPoint {
  readonly at: string;
  readonly value: number | null;
}

export interface IncidentsTable {
  id: string;
  environment_id: string;
  check_name: string;
  kind: 'chart' | 'drift';
  group_key: string;
  trigger_name: string;
  severity: string;
  owner: string;
  description: string | null;
  status: 'open' | 'resolved';
  threshold: number;
  direction: 'above' | 'below';
  value: number | null;
  peak_value: number | null;
  series: Json<SeriesPoint[]>;
  opened_at: Timestamp;
  last_evaluated_at: Timestamp;
  resolved_at: Timestamp | null;
  acked_at: Timestamp | null;
  acked_by: string | null;
}

export interface AlertRoutesTable {
  id: string;
  environment_id: string;
  owner: string;
  type: 'webhook' | 'slack' | 'pagerduty';
  target_envelope: Json<unknown>;
  target_hint: string;
  created_by: string;
  created_at: CreatedAt;
}

export interface AlertDeliveriesTable {
  id: string;
  incident_id: string;
  route_id: string;
  event: 'trigger' | 'resolve';
  status: 'pending' | 'delivered' | 'dead';
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  created_at: CreatedAt;
  delivered_at: Timestamp | null;
}
