import type { Logger } from "pino";
import { authenticateApiCaller } from "../../app/core/authn.js";
import type { Deps } from "../../app/core/context.js";
import { previewToken } from "../../app/oauth/token-preview.js";
import { DomainError, invalidArgument, unauthenticated } from "../../domain/errors.js";
import { toDomainError, toRestError } from "../errors.js";
import { header, readBody, sendJson, type Req, type Res } from "../http-util.js";

/**
 * POST /portcullis/v1/users/{userId}/token_preview {"scope": "..."}: Portcullis's own endpoint (no
 * ZITADEL RPC does this), a thin edge over app/oauth/token-preview.ts until the portcullis.v1 proto
 * service carries it. Bearer authentication as the Management API; errors in its REST shape.
 */
const PATH = /^\/portcullis\/v1\/users\/([^/]+)\/token_preview$/;
const LIMIT = 16 * 1024;

export function createTokenPreviewRoute(deps: Deps, log: Logger) {
  return function handle(req: Req, res: Res, path: string): boolean {
    const m = PATH.exec(path);
    if (!m) return false;
    void answer(req, res, m[1]!).catch((e: unknown) => {
      const err = toDomainError(e);
      if (err.kind === "Internal" || err.kind === "Unknown") log.error({ err: e }, "token preview failed");
      const r = toRestError(err);
      sendJson(res, r.status, r.body);
    });
    return true;
  };

  async function answer(req: Req, res: Res, rawUserId: string) {
    if (req.method !== "POST") throw new DomainError("Unimplemented", "", "method must be POST");
    let userId: string;
    try {
      userId = decodeURIComponent(rawUserId);
    } catch {
      throw invalidArgument("PREVIEW-path", "the user id in the path is not percent-decodable");
    }
    const auth = header(req, "authorization");
    if (!auth?.startsWith("Bearer ") || !auth.slice(7)) throw unauthenticated("AUTH-toLo1", "invalid auth header");
    const principal = await authenticateApiCaller(deps, auth.slice(7));
    let scope: unknown;
    try {
      scope = (JSON.parse((await readBody(req, LIMIT)).toString("utf8") || "{}") as { scope?: unknown }).scope;
    } catch {
      throw invalidArgument("PREVIEW-json", "the body must be JSON: {\"scope\": \"...\"}");
    }
    if (typeof scope !== "string" || !scope.trim()) throw invalidArgument("PREVIEW-scope", "scope missing");
    sendJson(res, 200, JSON.stringify(await previewToken(deps, principal, userId, scope)));
  }
}
