import http2 from "node:http2";
import type { Logger } from "pino";

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_STREAM_STATE_HALF_CLOSED_REMOTE, NGHTTP2_STREAM_STATE_CLOSED } = http2.constants;

export interface Http2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams beyond it are refused (REFUSED_STREAM). */
  maxConcurrentStreams: number;
  /** nghttp2's per-session memory budget in MB; past it new streams are refused. */
  maxSessionMemoryMb: number;
  /** The whole request (its body) must have arrived this long after the stream opened. */
  requestTimeoutMs: number;
  /** A session without open streams, or on which nothing moves, is closed after this long. */
  idleTimeoutMs: number;
}

/** The parts of the limits that are options of http2.createServer / createSecureServer. */
export const http2ServerOptions = (l: Http2Limits) => ({
  settings: { maxConcurrentStreams: l.maxConcurrentStreams },
  maxSessionMemory: l.maxSessionMemoryMb,
});

/**
 * The limits Node's HTTP/2 server does not enforce itself, to match what HTTP/1.1 gets from
 * requestTimeout and keepAliveTimeout:
 * - each stream must have received its whole request `requestTimeoutMs` after it opened; a slower
 *   one is answered 408 (gRPC: DEADLINE_EXCEEDED) and reset, or only reset once answered;
 * - a session with no open stream for `idleTimeoutMs` is closed (GOAWAY); one on which nothing at
 *   all moves for that long is closed too, and destroyed if it still holds streams (a client that
 *   stopped reading its responses).
 */
export function enforceHttp2Limits(server: http2.Http2Server | http2.Http2SecureServer, l: Http2Limits, log: Logger): void {
  server.on("session", (session: http2.ServerHttp2Session) => {
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      idle = setTimeout(() => session.close(), l.idleTimeoutMs).unref();
    };
    arm();
    session.setTimeout(l.idleTimeoutMs, () => (open === 0 ? session.close() : session.destroy()));
    session.once("close", () => clearTimeout(idle));
    session.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
      open++;
      clearTimeout(idle);
      // A request that ended with its headers has nothing left to arrive.
      const timer = stream.endAfterHeaders ? undefined : setTimeout(() => expire(stream, headers), l.requestTimeoutMs);
      stream.once("close", () => {
        clearTimeout(timer);
        if (--open === 0 && !session.closed && !session.destroyed) arm();
      });
    });
  });

  function expire(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) {
    if (stream.destroyed) return;
    const state = stream.state.state;
    // The client has sent everything (END_STREAM): the rest is the server's own work.
    if (state === NGHTTP2_STREAM_STATE_HALF_CLOSED_REMOTE || state === NGHTTP2_STREAM_STATE_CLOSED) return;
    log.debug({ path: headers[":path"], ms: l.requestTimeoutMs }, "http2 request not received in time");
    try {
      const answered = stream.headersSent;
      if (!answered) {
        const type = headers["content-type"] ?? "";
        stream.respond(
          type.startsWith("application/grpc")
            ? { ":status": 200, "content-type": type, "grpc-status": "4", "grpc-message": "request not received in time" }
            : { ":status": 408 },
          { endStream: true },
        );
      }
      // After a complete response, RST_STREAM NO_ERROR tells the client to stop sending (RFC 9113 §8.1).
      stream.close(!answered || stream.writableFinished ? NGHTTP2_NO_ERROR : NGHTTP2_CANCEL);
    } catch {
      // A timer must not throw: a stream that cannot be answered any more is simply dropped.
      stream.destroy();
    }
  }
}
