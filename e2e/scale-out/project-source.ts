/**
 * The features the scale-out test adds to a copy of the quickstart (`src/scale-out.ts` there), as source
 * text: the project is bundled by the CLI from its own folder.
 * - `tick`: a cron resolver due every 5 s (both metadata planes run the scheduler, the jobs replicas run it);
 * - `account`: values that only ever arrive by upload;
 * - `reading`: one row per message of the `scale-out-readings` stream (`amount` = id / 8), online and
 *   offline, so each message's values can be counted;
 * - `sensor.hits`: a windowed count per sensor of the same stream, over one hour.
 */
export const SCALE_OUT_FEATURES = `import { dataFrame, features, float, int, offline, stream, windowed, windowedStream } from '@slate/sdk';

export const Tick = features('tick', { id: int(), n: int() });
export const tick_every_5s = offline({
  inputs: {},
  outputs: { ticks: dataFrame(Tick, 'id', 'n') },
  total: true,
  cron: '5s',
  fn: () => ({ ticks: [{ id: 1, n: 1 }] }),
});

export const Account = features('account', {
  id: int(),
  balance: float().maxStaleness('infinity'),
});

export const Reading = features('reading', {
  id: int(),
  amount: float().maxStaleness('infinity').etlOfflineToOnline(),
});
export const readings = stream({
  source: { topic: 'scale-out-readings' },
  outputs: { id: Reading.id, amount: Reading.amount },
  lateArrivalDeadline: '1d',
  parse: ({ value }) => {
    const reading = JSON.parse(value) as { id: number };
    return { id: reading.id, amount: reading.id / 8 };
  },
});

export const Sensor = features('sensor', {
  id: int(),
  hits: windowed('1h', { type: int(), default: 0, maxStaleness: '1d', etlOfflineToOnline: true }),
});
export const sensor_hits = windowedStream({
  source: { topic: 'scale-out-readings' },
  parse: ({ value }) => ({ sensor: (JSON.parse(value) as { sensor: number }).sensor }),
  key: (reading) => reading.sensor,
  lateArrivalDeadline: '1d',
  aggregate: (agg) => [agg.count(Sensor.hits)],
});
`;
