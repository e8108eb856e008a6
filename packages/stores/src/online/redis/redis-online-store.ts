import { createHash } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { Command, Redis } from 'ioredis';
import { abortable } from '../../abortable.ts';
import { checkEntry, checkEnvironment, checkFeature, pkeyOf } from '../online-input.ts';
import type { OnlineEntry, OnlineKey, OnlineStore } from '../online-store.ts';
import { decodeStoredBuffers, encodeStoredValue } from '../online-value-codec.ts';

/** Options for `createRedisOnlineStore`: a URL (the store owns its connection) or a client you own. */
export type RedisOnlineStoreOptions =
  | {
      /** A `redis://` or `rediss://` URL; the store connects in `init()` and disconnects in `close()`. */
      readonly url: string;
      /** The first segment of every key. Default `'slate'`. */
      readonly keyPrefix?: string;
    }
  | {
      /**
       * A client the caller owns: `close()` leaves it open. It must not set ioredis' own `keyPrefix` option
       * (SCAN patterns are not prefixed by ioredis, so `dropFeatures` would miss keys).
       */
      readonly client: Redis;
      /** The first segment of every key. Default `'slate'`. */
      readonly keyPrefix?: string;
    };

/**
 * Keys per script run: bounds how long one run holds Redis (other clients' commands wait while a script
 * runs, ~10 ms for 5,000 keys on a small machine).
 */
const WRITE_CHUNK = 5_000;

/** Keys the write script reads with one MGET and writes with one MSET (Lua's `unpack` caps a call at 8,000 arguments). */
const SCRIPT_CHUNK = 1_000;

/**
 * Writes every entry unless the stored value is newer, in one atomic script run. KEYS are distinct value
 * keys, those without expiry first; ARGV holds the payloads (one per key), then the TTL in ms of each key
 * that has one (the last `#ARGV - #KEYS` keys). Timestamps are read from the payloads' tails
 * (`,"t":<number>}`, which `encodeStoredValue` always writes last), so values are never decoded, and the
 * incoming one only when a value is stored; a stored value whose tail does not parse is overwritten.
 *
 * Why this shape: Redis runs on the same cores as the writers, and its cost per value is dominated by
 * per-command overhead inside the script (a GET and a SET per value cost ~2.5× a bulk MGET/MSET). So the
 * script reads the stored values of up to `SCRIPT_CHUNK` keys with one MGET and writes the winners without
 * expiry with one MSET (which, like SET, clears an earlier expiry); only values with a TTL need a SET each.
 * Reading before writing is only right because the keys are distinct: `set` folds repeated keys first.
 */
const SET_IF_NOT_OLDER = `
local n = #KEYS
local plain = 2 * n - #ARGV
local call, match, tonumber, unpack, min = redis.call, string.match, tonumber, unpack, math.min
local tail = ',"t":([^,}]+)}$'
for from = 1, n, ${SCRIPT_CHUNK} do
  local to = min(from + ${SCRIPT_CHUNK - 1}, n)
  local current = call('MGET', unpack(KEYS, from, to))
  local writes, count = {}, 0
  for i = from, to do
    local stored = current[i - from + 1]
    stored = stored and tonumber(match(stored, tail))
    local incoming = stored and tonumber(match(ARGV[i], tail))
    if not (stored and incoming and stored > incoming) then
      if i <= plain then
        writes[count + 1] = KEYS[i]
        writes[count + 2] = ARGV[i]
        count = count + 2
      else
        call('SET', KEYS[i], ARGV[i], 'PX', ARGV[i + n - plain])
      end
    end
  end
  if count > 0 then call('MSET', unpack(writes, 1, count)) end
end
return n
`;
const SET_IF_NOT_OLDER_SHA = createHash('sha1').update(SET_IF_NOT_OLDER).digest('hex');

/** Keys deleted per UNLINK while dropping features (and the SCAN COUNT hint). */
const SCAN_BATCH = 1_000;

/**
 * An `OnlineStore` on Redis (a single node or a primary; not Redis Cluster, whose multi-key commands need
 * every key in one slot).
 *
 * Key layout: one string key per value, `${keyPrefix}:${environment}:${feature}:${pkey}`, e.g.
 * `slate:prod:user.name:42`. `%` and `:` inside the environment and feature are percent-encoded (`%25`,
 * `%3A`), so the first three separators are unambiguous and environments can never share a key; the primary
 * key is the last segment and is stored as is. The value is compact JSON `{"v":<value>,"t":<observedAtMs>}`
 * with `PX` expiry when the entry has `ttlMs`. A key this store cannot decode reads as missing.
 *
 * Round trips: `get` is one MGET; `set` is one EVALSHA per 5,000 distinct keys of a script that skips
 * backdated entries (falling back to EVAL if the server has not cached the script), sent without waiting for
 * replies, so a
 * large call costs about one round trip and holds Redis for one chunk at a time (each chunk is atomic, the
 * call as a whole is not); `delete` is one DEL; `dropFeatures` scans `${keyPrefix}:${environment}:${feature}:*`
 * and UNLINKs each page, so it takes several round trips and is not atomic with concurrent writes.
 *
 * Errors: connection failures throw `SlateError('unavailable', 'ONLINE_STORE_UNAVAILABLE')`; errors Redis
 * itself returns throw `SlateError('internal', 'ONLINE_STORE_FAILED')`; a client with its own `keyPrefix`
 * throws `SlateError('input', 'REDIS_CLIENT_KEY_PREFIX')`.
 *
 * @example
 * const store = createRedisOnlineStore({ url: 'redis://127.0.0.1:6379' });
 * await store.init();
 * await store.set('prod', [{ feature: 'user.name', pkey: 1, value: 'Ada', observedAt: Date.now(), ttlMs: 60_000 }]);
 * const [name] = await store.get('prod', [{ feature: 'user.name', pkey: 1 }]);
 * await store.close();
 */
export function createRedisOnlineStore(options: RedisOnlineStoreOptions): OnlineStore {
  const keyPrefix = options.keyPrefix ?? 'slate';
  if (keyPrefix.length === 0) {
    throw new SlateError('input', 'INVALID_KEY_PREFIX', 'keyPrefix must be a non-empty string');
  }
  const owned = 'url' in options;
  const client = owned
    ? new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    : options.client;
  // An owned client's failures reach callers as rejected commands; without a listener ioredis also logs them.
  if (owned) client.on('error', () => {});
  if (!owned && client.options.keyPrefix) {
    throw new SlateError(
      'input',
      'REDIS_CLIENT_KEY_PREFIX',
      "the Redis client sets ioredis' keyPrefix option; pass keyPrefix to createRedisOnlineStore instead",
    );
  }

  // Key prefixes per environment and feature, encoded once: a query builds one key per feature it reads,
  // a write one per value.
  const prefixes = new Map<string, Map<string, string>>();
  const prefixesOf = (environment: string) => {
    let byFeature = prefixes.get(environment);
    if (byFeature === undefined) {
      if (prefixes.size >= 1_000) prefixes.clear();
      byFeature = new Map();
      prefixes.set(environment, byFeature);
    }
    const features = byFeature;
    const head = `${keyPrefix}:${encodeSegment(environment)}:`;
    return (feature: string) => {
      let prefix = features.get(feature);
      if (prefix === undefined) {
        checkFeature(feature);
        prefix = `${head}${encodeSegment(feature)}:`;
        if (features.size >= 100_000) features.clear();
        features.set(feature, prefix);
      }
      return prefix;
    };
  };

  /** Runs one Redis call, honouring `signal` and translating failures into `SlateError`s. */
  const call = async <T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> => {
    signal?.throwIfAborted();
    try {
      return await abortable(run(), signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      throw toSlateError(error);
    }
  };

  return {
    capabilities: { persistent: true, shared: true },

    async init() {
      if (client.status === 'wait') await call(undefined, () => client.connect());
    },

    async close() {
      if (!owned) return;
      if (client.status === 'wait' || client.status === 'end') {
        client.disconnect();
        return;
      }
      await client.quit().catch(() => client.disconnect());
    },

    async get(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal) {
      checkEnvironment(environment);
      const prefixOf = prefixesOf(environment);
      const redisKeys = new Array<string>(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        redisKeys[i] = prefixOf(key.feature) + pkeyOf(key);
      }
      signal?.throwIfAborted();
      if (redisKeys.length === 0) return [];
      // A bulk read's cost is per value on the client: the MGET goes out as one buffer built here (ioredis
      // would concatenate four strings per key), and its values come back as buffers decoded with one parse.
      const raw = await call(signal, () => {
        const command = new PackedCommand(['mget'], redisKeys);
        client.sendCommand(command);
        return command.promise as Promise<(Buffer | null)[]>;
      });
      return decodeStoredBuffers(raw);
    },

    async set(environment: string, entries: readonly OnlineEntry[], signal?: AbortSignal) {
      checkEnvironment(environment);
      const prefixOf = prefixesOf(environment);
      // Everything is validated before anything is sent, so invalid input writes nothing. Only objects and
      // bigints can fail to encode: those are encoded here, the rest while their script run is built.
      let encoded: (string | undefined)[] | undefined;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        prefixOf(entry.feature);
        pkeyOf(entry);
        checkEntry(entry);
        const type = typeof entry.value;
        if ((type === 'object' && entry.value !== null) || type === 'bigint') {
          encoded ??= new Array<string | undefined>(entries.length);
          encoded[i] = encodeStoredValue(entry.value, entry.observedAt);
        }
      }
      signal?.throwIfAborted();
      if (entries.length === 0) return;
      const payloadOf = (i: number) =>
        encoded?.[i] ?? encodeStoredValue(entries[i]!.value, entries[i]!.observedAt);

      const run = async (count: number, args: string[]) => {
        try {
          const command = new PackedCommand(['evalsha', SET_IF_NOT_OLDER_SHA, String(count)], args);
          client.sendCommand(command);
          return await command.promise;
        } catch (error) {
          // The script cache is empty after a restart or SCRIPT FLUSH: send the body, which caches it.
          if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
          return await client.eval(SET_IF_NOT_OLDER, count, args);
        }
      };
      await call(signal, () => {
        // The entries go out as script runs of up to WRITE_CHUNK distinct keys, each sent as soon as it is
        // built, so Redis works on one while the next is built. A script compares against what Redis held
        // before it ran, so repeated keys within one run fold into the entry that applying them in order
        // would leave (the newest `observedAt`, the later one on ties); a key repeated in a later run needs
        // nothing, as Redis runs one connection's scripts in the order they were sent.
        const sent: Promise<unknown>[] = [];
        const slots = new Map<string, number>();
        let keys: string[] = [];
        let winners: number[] = [];
        const flush = () => {
          sent.push(run(keys.length, scriptArgs(keys, winners, entries, payloadOf)));
          keys = [];
          winners = [];
          slots.clear();
        };
        for (let i = 0; i < entries.length; i++) {
          const entry = entries[i]!;
          const key = prefixOf(entry.feature) + pkeyOf(entry);
          const slot = slots.get(key);
          if (slot === undefined) {
            if (keys.length === WRITE_CHUNK) flush();
            slots.set(key, keys.length);
            keys.push(key);
            winners.push(i);
          } else if (!(entries[winners[slot]!]!.observedAt > entry.observedAt)) winners[slot] = i;
        }
        flush();
        return Promise.all(sent);
      });
    },

    async delete(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal) {
      checkEnvironment(environment);
      const prefixOf = prefixesOf(environment);
      const redisKeys = keys.map((key) => prefixOf(key.feature) + pkeyOf(key));
      signal?.throwIfAborted();
      if (redisKeys.length === 0) return;
      await call(signal, () => client.del(redisKeys));
    },

    async dropFeatures(environment: string, features: readonly string[], signal?: AbortSignal) {
      checkEnvironment(environment);
      features.forEach(checkFeature);
      for (const feature of new Set(features)) {
        const pattern = `${escapeGlob(prefixesOf(environment)(feature))}*`;
        let cursor = '0';
        do {
          const [next, found] = await call(signal, () =>
            client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH),
          );
          cursor = next;
          if (found.length > 0) await call(signal, () => client.unlink(found));
        } while (cursor !== '0');
      }
    },
  };
}

/** Percent-encodes the characters that would make a key segment ambiguous. */
function encodeSegment(segment: string): string {
  return segment.replaceAll('%', '%25').replaceAll(':', '%3A');
}

/** Escapes Redis glob metacharacters so a SCAN pattern matches the text literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

/**
 * The write script's KEYS and ARGV for one run: `keys` are distinct and `winners` holds the index of each
 * key's entry. Keys without expiry first, then those with, so the TTLs can trail ARGV for the last keys
 * only (reordering distinct keys changes nothing).
 */
function scriptArgs(
  keys: readonly string[],
  winners: readonly number[],
  entries: readonly OnlineEntry[],
  payloadOf: (index: number) => string,
): string[] {
  const n = keys.length;
  const expiring: number[] = [];
  for (let k = 0; k < n; k++) if (entries[winners[k]!]!.ttlMs !== undefined) expiring.push(k);
  const args = new Array<string>(2 * n + expiring.length);
  let at = 0;
  const place = (k: number) => {
    args[at] = keys[k]!;
    args[n + at] = payloadOf(winners[k]!);
    at += 1;
  };
  if (expiring.length === 0) for (let k = 0; k < n; k++) place(k);
  else {
    for (let k = 0; k < n; k++) if (entries[winners[k]!]!.ttlMs === undefined) place(k);
    for (const k of expiring) place(k);
    for (let e = 0; e < expiring.length; e++)
      args[2 * n + e] = String(Math.ceil(entries[winners[expiring[e]!]!]!.ttlMs!));
  }
  return args;
}

/**
 * A command whose wire form (RESP: an array of bulk strings) is written straight into one buffer. ioredis
 * would build it as a string of four concatenations per argument and encode that again when writing: for
 * a write script with 10,000 arguments per run that garbage costs more than the rest of `set`. Only for
 * commands whose reply needs no transformation (EVALSHA; MGET, whose bulk strings stay buffers).
 */
class PackedCommand extends Command {
  readonly #packed: Buffer;

  /** `head` starts with the command's name; `head` and `tail` are sent one after the other. */
  constructor(head: readonly string[], tail: readonly string[]) {
    super(head[0]!);
    this.#packed = packCommand(head, tail);
  }

  override toWritable(): Buffer {
    return this.#packed;
  }
}

/**
 * Encodes a command as RESP, the parts of `head` then those of `tail` (the first part is the command's
 * name): `*<count>\r\n`, then `$<bytes>\r\n<part>\r\n` for each part, UTF-8.
 */
export function packCommand(head: readonly string[], tail: readonly string[] = []): Buffer {
  const count = head.length + tail.length;
  const part = (i: number) => (i < head.length ? head[i]! : tail[i - head.length]!);
  const lengths = new Array<number>(count);
  let size = 3 + String(count).length;
  for (let i = 0; i < count; i++) {
    const length = Buffer.byteLength(part(i));
    lengths[i] = length;
    size += 5 + length + (length < 10 ? 1 : length < 100 ? 2 : String(length).length);
  }
  const buffer = Buffer.allocUnsafe(size);
  let at = buffer.write(`*${count}\r\n`, 0, 'latin1');
  for (let i = 0; i < count; i++) {
    const length = lengths[i]!;
    buffer[at++] = 0x24; // $
    if (length < 10) buffer[at++] = 0x30 + length;
    else if (length < 100) {
      buffer[at++] = 0x30 + Math.floor(length / 10);
      buffer[at++] = 0x30 + (length % 10);
    } else at += buffer.write(String(length), at, 'latin1');
    buffer[at++] = 0x0d;
    buffer[at++] = 0x0a;
    at += buffer.write(part(i), at, 'utf8');
    buffer[at++] = 0x0d;
    buffer[at++] = 0x0a;
  }
  return buffer;
}

function toSlateError(error: unknown): SlateError {
  if (error instanceof SlateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === 'ReplyError') {
    return new SlateError(
      'internal',
      'ONLINE_STORE_FAILED',
      `Redis rejected a command: ${message}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  return new SlateError(
    'unavailable',
    'ONLINE_STORE_UNAVAILABLE',
    `Redis is unavailable: ${message}`,
    undefined,
    {
      cause: error,
    },
  );
}
