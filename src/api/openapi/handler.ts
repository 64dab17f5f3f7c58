import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { ServerResponse } from "node:http";
import { sendJson, type Req, type Res } from "../http-util.js";
import { openApiDocument, openApiName, type OpenApiSource } from "./document.js";

export const OPENAPI_PATH = "/openapi/";

interface Served {
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
}

/** The index of the documents: name, service, REST prefix and URL of each. */
function openApiIndex(sources: readonly OpenApiSource[]): string {
  const documents = sources.map((src) => {
    const name = openApiName(src);
    return { name, service: src.service.typeName, prefix: src.prefix, url: `${OPENAPI_PATH}${name}.json` };
  });
  return JSON.stringify({ documents });
}

const documentText = (src: OpenApiSource): string => JSON.stringify(openApiDocument(src));

/** The documents as `npm run build` writes them to dist/openapi/: file name → JSON text (index.json lists them). */
export function openApiFiles(sources: readonly OpenApiSource[]): Map<string, string> {
  const files = new Map<string, string>([["index.json", openApiIndex(sources)]]);
  for (const src of sources) files.set(`${openApiName(src)}.json`, documentText(src));
  return files;
}

function served(text: string): Served {
  const body = Buffer.from(text);
  return { body, gzip: gzipSync(body), etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` };
}

/**
 * Serves `/openapi/` (the index) and `/openapi/<name>.json`, public and cacheable (ETag, max-age). Each
 * document is built on its first request from the descriptors the server routes with (a few hundred
 * milliseconds, once). Returns false for other paths.
 */
export function createOpenApiHandler(sources: readonly OpenApiSource[]) {
  const byPath = new Map<string, () => Served>();
  const once = (make: () => string) => {
    let value: Served | undefined;
    return () => (value ??= served(make()));
  };
  const index = once(() => openApiIndex(sources));
  for (const p of ["/openapi", OPENAPI_PATH, `${OPENAPI_PATH}index.json`]) byPath.set(p, index);
  for (const src of sources) byPath.set(`${OPENAPI_PATH}${openApiName(src)}.json`, once(() => documentText(src)));

  return function handleOpenApi(req: Req, res: Res, path: string): boolean {
    if (path !== "/openapi" && !path.startsWith(OPENAPI_PATH)) return false;
    req.resume();
    const get = byPath.get(path);
    if (!get) {
      sendJson(res, 404, JSON.stringify({ code: 5, message: "Not Found" }));
      return true;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(res, 405, JSON.stringify({ code: 12, message: "Method Not Allowed" }), { allow: "GET, HEAD" });
      return true;
    }
    const doc = get();
    const gzip = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
    // Each representation has its own strong validator (RFC 9110 §8.8.3).
    const etag = gzip ? doc.etag.replace(/"$/, '-gzip"') : doc.etag;
    const headers = {
      "content-type": "application/json",
      "cache-control": "public, max-age=3600",
      etag,
      // Public documents: let a Swagger UI or editor on another origin load them.
      "access-control-allow-origin": "*",
      vary: "accept-encoding",
    };
    const fresh = req.headers["if-none-match"]?.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
    if (fresh) {
      (res as ServerResponse).writeHead(304, headers);
      res.end();
      return true;
    }
    const body = gzip ? doc.gzip : doc.body;
    (res as ServerResponse).writeHead(200, { ...headers, ...(gzip ? { "content-encoding": "gzip" } : {}), "content-length": String(body.length) });
    if (req.method === "HEAD") res.end();
    else res.end(body);
    return true;
  };
}
