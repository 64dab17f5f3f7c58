import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Req, Res } from "../api/http-util.js";

/**
 * The web console (console/, built by `npm run build` into dist/console) at /ui/console/. Static
 * files only: the console talks to the public API like any other client. Hashed assets
 * (/ui/console/assets/…) are immutable for a year; index.html is never cached, so a new build shows
 * at the next load. Every answer carries a strict Content-Security-Policy: scripts, styles and API
 * calls from this origin only, no inline scripts, no framing.
 */
export const CONSOLE_PREFIX = "/ui/console";

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

/** dist/console next to the compiled server (dist/server), or the build output when running from src/. */
function findConsoleDir(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.join(here, "..", "console"), path.join(here, "..", "..", "dist", "console")]) {
    if (existsSync(path.join(dir, "index.html"))) return dir;
  }
  return undefined;
}

/** Returns a handler: true when it answered the request (the path is the console's). */
export function createConsoleHandler(dir = findConsoleDir()) {
  const cache = new Map<string, Buffer>();
  const read = (file: string) => {
    let b = cache.get(file);
    if (!b) {
      b = readFileSync(file);
      cache.set(file, b);
    }
    return b;
  };
  return (req: Req, res: Res, urlPath: string): boolean => {
    if (urlPath !== CONSOLE_PREFIX && !urlPath.startsWith(CONSOLE_PREFIX + "/")) return false;
    const send = (status: number, headers: Record<string, string>, body: Buffer | string) => {
      res.writeHead(status, {
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
        ...headers,
        "content-length": String(Buffer.byteLength(body)),
      });
      if (req.method === "HEAD") res.end();
      else res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }, "method not allowed\n");
      return true;
    }
    if (!dir) {
      send(404, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }, "The web console is not built: run `npm run build` (needs the devDependencies).\n");
      return true;
    }
    if (urlPath === CONSOLE_PREFIX) {
      send(308, { location: CONSOLE_PREFIX + "/", "content-type": "text/plain; charset=utf-8" }, "");
      return true;
    }
    const rel = urlPath.slice(CONSOLE_PREFIX.length + 1);
    if (rel.startsWith("assets/")) {
      let name: string;
      try {
        name = decodeURIComponent(rel.slice("assets/".length));
      } catch {
        name = "";
      }
      // One level, no traversal: the assets directory holds Vite's hashed files only.
      const file = path.join(dir, "assets", name);
      if (!name || name.includes("/") || name.includes("\\") || name.startsWith(".") || !existsSync(file) || !statSync(file).isFile()) {
        send(404, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }, "not found\n");
        return true;
      }
      send(200, { "content-type": TYPES[path.extname(name)] ?? "application/octet-stream", "cache-control": "public, max-age=31536000, immutable" }, read(file));
      return true;
    }
    // Every other path is the single page (it routes on the URL fragment).
    send(200, { "content-type": TYPES[".html"]!, "cache-control": "no-cache" }, readFileSync(path.join(dir, "index.html")));
    return true;
  };
}
