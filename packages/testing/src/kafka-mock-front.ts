import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * Kafka API versions librdkafka's mock cluster advertises but does not implement, capped at the last
 * version it does. LeaveGroup v3 (KIP-345, a `members` array in the request and the response) is read and
 * answered as v2 by the mock, so a v3 client's leave is lost and its member lingers until the session
 * times out.
 */
export const MOCK_API_VERSION_CAPS: ReadonlyMap<number, number> = new Map([[13 /* LeaveGroup */, 2]]);

const API_VERSIONS = 18;
const METADATA = 3;

/** A loopback listener per mock broker that forwards to it; see `startKafkaMockFront`. */
export interface KafkaMockFront {
  /** `host:port` of each front, in the order of the brokers given. */
  readonly brokers: readonly string[];
  close(): Promise<void>;
}

export interface KafkaMockFrontOptions {
  /**
   * Sees each response frame (4-byte size, 4-byte correlation id, body) after the front's own
   * corrections, and may edit it in place: how a test makes a broker answer with an error it chooses.
   */
  readonly onResponse?: (frame: Buffer, apiKey: number, apiVersion: number) => void;
}

/**
 * Puts a byte-for-byte TCP forwarder in front of each mock broker that corrects two things in responses,
 * in place (the frames keep their length): ApiVersions (v0–v2) advertise at most the versions the mock
 * implements (`MOCK_API_VERSION_CAPS`), and Metadata (v1–v8) name the fronts instead of the brokers, so a
 * client that bootstraps through a front keeps talking through fronts. Every other byte passes through
 * untouched.
 */
export async function startKafkaMockFront(
  brokers: readonly string[],
  options: KafkaMockFrontOptions = {},
): Promise<KafkaMockFront> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const portMap = new Map<number, number>();
  for (const broker of brokers) {
    const [host, port] = splitHostPort(broker);
    const server = createServer((client) => {
      const upstream = tcpConnect({ host, port });
      sockets.add(client).add(upstream);
      const pending = new Map<number, { apiKey: number; apiVersion: number }>();
      client.on(
        'data',
        frames((frame) => {
          if (frame.length >= 12) {
            pending.set(frame.readInt32BE(8), {
              apiKey: frame.readInt16BE(4),
              apiVersion: frame.readInt16BE(6),
            });
          }
          upstream.write(frame);
        }),
      );
      upstream.on(
        'data',
        frames((frame) => {
          const request = frame.length >= 8 ? pending.get(frame.readInt32BE(4)) : undefined;
          if (request) {
            pending.delete(frame.readInt32BE(4));
            rewriteResponse(frame, request.apiKey, request.apiVersion, portMap);
            options.onResponse?.(frame, request.apiKey, request.apiVersion);
          }
          client.write(frame);
        }),
      );
      const end = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      for (const socket of [client, upstream]) {
        socket.on('error', end);
        socket.on('close', end);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('front has no port');
    portMap.set(port, address.port);
    servers.push(server);
  }
  return {
    brokers: servers.map((server) => `127.0.0.1:${(server.address() as { port: number }).port}`),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}

/** Reassembles size-prefixed Kafka frames from a byte stream, handing each whole (prefix included) on. */
function frames(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let buffered: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const size = buffered.readInt32BE(0);
      if (buffered.length < 4 + size) break;
      onFrame(buffered.subarray(0, 4 + size));
      buffered = buffered.subarray(4 + size);
    }
  };
}

/**
 * Edits a response frame (4-byte size, 4-byte correlation id, body) in place. Exported for its test.
 * `portMap` maps a broker's port to its front's port.
 */
export function rewriteResponse(
  frame: Buffer,
  apiKey: number,
  apiVersion: number,
  portMap: ReadonlyMap<number, number>,
): void {
  if (apiKey === API_VERSIONS && apiVersion <= 2) {
    // error_code int16, [api_key int16, min int16, max int16]
    const count = frame.readInt32BE(10);
    for (let i = 0, at = 14; i < count; i++, at += 6) {
      const cap = MOCK_API_VERSION_CAPS.get(frame.readInt16BE(at));
      if (cap !== undefined && frame.readInt16BE(at + 4) > cap) frame.writeInt16BE(cap, at + 4);
    }
  } else if (apiKey === METADATA && apiVersion >= 1 && apiVersion <= 8) {
    // [throttle int32 (v3+)], [node_id int32, host string, port int32, rack nullable string (v1+)]
    let at = apiVersion >= 3 ? 12 : 8;
    const count = frame.readInt32BE(at);
    at += 4;
    for (let i = 0; i < count; i++) {
      at += 4;
      at += 2 + frame.readInt16BE(at);
      const front = portMap.get(frame.readInt32BE(at));
      if (front !== undefined) frame.writeInt32BE(front, at);
      at += 4;
      const rack = frame.readInt16BE(at);
      at += 2 + Math.max(rack, 0);
    }
  }
}
