/**
 * The feature repository `bench/serving.ts` serves: two feature classes of 100 float features each, every
 * class computed by 25 resolvers of 4 outputs from the entity id. `cached_entity` values never go stale
 * (Shape A reads them precomputed from Redis); `live_entity` values are never cached (Shape B computes
 * them on every query, in the worker runtime). Written out by hand so the worker can import it as a bundle.
 */
import { features, float, int, online } from '@slate/sdk';

const fields = (maxStaleness: string | undefined) => {
  const out: Record<string, ReturnType<typeof float>> = {};
  for (let i = 0; i < 100; i++) {
    const field = float();
    out[`f${String(i).padStart(3, '0')}`] = maxStaleness ? field.maxStaleness(maxStaleness) : field;
  }
  return out;
};

export const CachedEntity = features('cached_entity', { id: int(), ...fields('infinity') });
export const LiveEntity = features('live_entity', { id: int(), ...fields(undefined) });

type Entity = typeof CachedEntity | typeof LiveEntity;

/** Resolver `group` computes features 4·group … 4·group+3 as simple arithmetic on the id. */
function group(entity: Entity, index: number) {
  const refs = entity as unknown as Record<string, never>;
  const outputs: Record<string, never> = {};
  for (let j = 0; j < 4; j++) {
    const n = index * 4 + j;
    outputs[`v${j}`] = refs[`f${String(n).padStart(3, '0')}`]!;
  }
  return online({
    inputs: { id: entity.id },
    outputs,
    fn: ({ id }: { id: number }) => ({
      v0: id * 1.5 + index,
      v1: id * 2.5 + index,
      v2: id * 3.5 + index,
      v3: id * 4.5 + index,
    }),
  } as never);
}

export const cached_r00 = group(CachedEntity, 0);
export const cached_r01 = group(CachedEntity, 1);
export const cached_r02 = group(CachedEntity, 2);
export const cached_r03 = group(CachedEntity, 3);
export const cached_r04 = group(CachedEntity, 4);
export const cached_r05 = group(CachedEntity, 5);
export const cached_r06 = group(CachedEntity, 6);
export const cached_r07 = group(CachedEntity, 7);
export const cached_r08 = group(CachedEntity, 8);
export const cached_r09 = group(CachedEntity, 9);
export const cached_r10 = group(CachedEntity, 10);
export const cached_r11 = group(CachedEntity, 11);
export const cached_r12 = group(CachedEntity, 12);
export const cached_r13 = group(CachedEntity, 13);
export const cached_r14 = group(CachedEntity, 14);
export const cached_r15 = group(CachedEntity, 15);
export const cached_r16 = group(CachedEntity, 16);
export const cached_r17 = group(CachedEntity, 17);
export const cached_r18 = group(CachedEntity, 18);
export const cached_r19 = group(CachedEntity, 19);
export const cached_r20 = group(CachedEntity, 20);
export const cached_r21 = group(CachedEntity, 21);
export const cached_r22 = group(CachedEntity, 22);
export const cached_r23 = group(CachedEntity, 23);
export const cached_r24 = group(CachedEntity, 24);
export const live_r00 = group(LiveEntity, 0);
export const live_r01 = group(LiveEntity, 1);
export const live_r02 = group(LiveEntity, 2);
export const live_r03 = group(LiveEntity, 3);
export const live_r04 = group(LiveEntity, 4);
export const live_r05 = group(LiveEntity, 5);
export const live_r06 = group(LiveEntity, 6);
export const live_r07 = group(LiveEntity, 7);
export const live_r08 = group(LiveEntity, 8);
export const live_r09 = group(LiveEntity, 9);
export const live_r10 = group(LiveEntity, 10);
export const live_r11 = group(LiveEntity, 11);
export const live_r12 = group(LiveEntity, 12);
export const live_r13 = group(LiveEntity, 13);
export const live_r14 = group(LiveEntity, 14);
export const live_r15 = group(LiveEntity, 15);
export const live_r16 = group(LiveEntity, 16);
export const live_r17 = group(LiveEntity, 17);
export const live_r18 = group(LiveEntity, 18);
export const live_r19 = group(LiveEntity, 19);
export const live_r20 = group(LiveEntity, 20);
export const live_r21 = group(LiveEntity, 21);
export const live_r22 = group(LiveEntity, 22);
export const live_r23 = group(LiveEntity, 23);
export const live_r24 = group(LiveEntity, 24);
