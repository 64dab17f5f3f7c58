import { createHash, timingSafeEqual } from "node:crypto";
import { header, sendJson, type Req, type Res } from "../api/http-util.js";
import { TEXT_CONTENT_TYPE } from "../telemetry/metrics.js";

/** The text a scrape gets: this process's registry, or (workers) every worker's merged. */
export type MetricsSource = () => Promise<string>;

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * GET /debug/metrics in Prometheus's text format, as ZITADEL serves it: open, unless `token` is set;
 * then only `Authorization: Bearer <token>` (compared in constant time) gets it, others 401.
 */
export function createMetricsEndpoint(source: MetricsSource, token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return async (req: Req, res: Res): Promise<void> => {
    req.resume();
    if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, JSON.stringify({ code: 12, message: "Method Not Allowed" }), { allow: "GET, HEAD" });
    if (expected) {
      const auth = header(req, "authorization");
      const given = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : undefined;
      if (given === undefined || !timingSafeEqual(digest(given), expected))
        return sendJson(res, 401, JSON.stringify({ code: 16, message: "metrics need a bearer token (metrics.token)" }), { "www-authenticate": 'Bearer realm="metrics"' });
    }
    const text = await source();
    res.writeHead(200, { "content-type": TEXT_CONTENT_TYPE, "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
    if (req.method === "HEAD") res.end();
    else res.end(text);
  };
}
