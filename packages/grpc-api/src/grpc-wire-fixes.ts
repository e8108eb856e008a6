import type { Http2ServerRequest, Http2ServerResponse, OutgoingHttpHeaders } from 'node:http2';

type NodeHandler = (request: Http2ServerRequest, response: Http2ServerResponse) => void;

/**
 * Wraps the Connect handler to correct two things in the gRPC trailers it writes:
 *
 * - `grpc-message` is percent-encoded as the gRPC HTTP/2 spec says (only bytes outside printable ASCII,
 *   and `%`). Connect encodes with `encodeURIComponent`, and @grpc/grpc-js (the seed product's TS client)
 *   decodes with `decodeURI`, which leaves `%2C` and other reserved characters encoded: clients would
 *   read "environment dev%2C not prod".
 * - A request message that is not valid protobuf is the caller's mistake: INVALID_ARGUMENT, where
 *   Connect answers INTERNAL ("parse binary: …").
 */
export function withGrpcWireFixes(handler: NodeHandler): NodeHandler {
  return (request, response) => {
    const addTrailers = response.addTrailers.bind(response);
    response.addTrailers = (headers: OutgoingHttpHeaders) => addTrailers(fixStatus(headers));
    handler(request, response);
  };
}

const INTERNAL = '13';
const INVALID_ARGUMENT = '3';

function fixStatus(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const encoded = headers['grpc-message'];
  if (typeof encoded !== 'string') return headers;
  let message = decodeOrKeep(encoded);
  const fixed = { ...headers };
  if (fixed['grpc-status'] === INTERNAL && message.startsWith('parse binary:')) {
    fixed['grpc-status'] = INVALID_ARGUMENT;
    message = `the request message is not valid protobuf (${message.slice('parse binary:'.length).trim()})`;
  }
  fixed['grpc-message'] = percentEncode(message);
  return fixed;
}

function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The gRPC spec's Percent-Encoded: UTF-8 bytes outside 0x20–0x7E, and `%`, as `%XX`. */
export function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
