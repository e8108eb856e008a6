import { randomBytes } from 'node:crypto';

/** What happened during `runTokenAttack`. Latencies in milliseconds. */
export interface TokenAttackResult {
  /** Attack answers by HTTP status (`0`: no answer within `timeoutMs`). */
  readonly attackStatuses: Readonly<Record<string, number>>;
  readonly attackMaxMs: number;
  /** How long until every attack request had its answer. */
  readonly attackWallMs: number;
  /** Answers of 429 / 503 that carried no `Retry-After`, or whose body was not `{detail, message, trace}`. */
  readonly malformedRefusals: number;
  readonly healthz: readonly { status: number; ms: number }[];
  readonly validExchanges: readonly { status: number; ms: number }[];
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
};

/** p50 / max of a list of latencies. */
export function latencySummary(samples: readonly { ms: number }[]): { p50: number; max: number } {
  const ms = samples.map((s) => s.ms);
  return { p50: percentile(ms, 0.5), max: Math.max(...ms) };
}

/**
 * The token endpoint under attack: `attackers` concurrent wrong-secret requests (half against the victim's
 * client id, half against unknown ids), while `/healthz` and the victim's valid exchange are timed in a
 * loop until the attack has been answered. Used by the attack test and `bench/auth.ts`.
 *
 * @example
 * const result = await runTokenAttack({ url: 'http://127.0.0.1:4000', clientId, clientSecret, attackers: 300 });
 */
export async function runTokenAttack(options: {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly attackers: number;
  /** Per request (default 10 000 ms). */
  readonly timeoutMs?: number;
}): Promise<TokenAttackResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timed = async (path: string, init?: RequestInit) => {
    const started = performance.now();
    try {
      const res = await fetch(`${options.url}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      return { status: res.status, ms: performance.now() - started, res, text };
    } catch {
      return { status: 0, ms: performance.now() - started, res: undefined, text: '' };
    }
  };
  const exchange = (clientId: string, clientSecret: string) =>
    timed('/v1/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: clientId,
        client_secret: clientSecret,
        grant_type: 'client_credentials',
      }),
    });
  const started = performance.now();
  const attack = Promise.all(
    Array.from({ length: options.attackers }, (_, i) =>
      exchange(
        i % 2 === 0 ? options.clientId : `token-${randomBytes(16).toString('hex')}`,
        `ts-wrong-${randomBytes(8).toString('hex')}`,
      ),
    ),
  );
  let done = false;
  const finished = attack.finally(() => {
    done = true;
  });
  const healthz: { status: number; ms: number }[] = [];
  const validExchanges: { status: number; ms: number }[] = [];
  const probes = (async () => {
    // Let the attack's connections open first, so the probes meet it in full.
    await new Promise((resolve) => setTimeout(resolve, 50));
    do {
      const [h, v] = await Promise.all([timed('/healthz'), exchange(options.clientId, options.clientSecret)]);
      healthz.push({ status: h.status, ms: h.ms });
      validExchanges.push({ status: v.status, ms: v.ms });
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (!done);
  })();
  const answers = await finished;
  const attackWallMs = performance.now() - started;
  await probes;
  const attackStatuses: Record<string, number> = {};
  let malformedRefusals = 0;
  for (const a of answers) {
    attackStatuses[a.status] = (attackStatuses[a.status] ?? 0) + 1;
    if (a.status === 429 || a.status === 503) {
      let keys = '';
      try {
        keys = Object.keys(JSON.parse(a.text) as object)
          .sort()
          .join(',');
      } catch {
        keys = '';
      }
      if (!a.res?.headers.get('retry-after') || keys !== 'detail,message,trace') malformedRefusals++;
    }
  }
  return {
    attackStatuses,
    attackMaxMs: Math.max(...answers.map((a) => a.ms)),
    attackWallMs,
    malformedRefusals,
    healthz,
    validExchanges,
  };
}
