/**
 * Statuses a resolver run moves through: `received` → `running` → `succeeded`, `failed` or `canceled`
 * (chalk.md §3.9). Shared by the data plane, which sets them, and every client that reads them; here rather
 * than in `@slate/client` so the CLI can list them in its help without loading the client.
 */
export const RUN_STATUSES = ['received', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** What a schedule fires: a `cron` resolver (a run) or a scheduled query (an offline query). */
export const SCHEDULE_KINDS = ['resolver', 'query'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];
