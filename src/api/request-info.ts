import type { Req } from "./http-util.js";

/**
 * What a request was, as its edge learns it, for metrics and the request span: the server makes it
 * when metrics or tracing are on, the edges fill in what they know (the RPC, the outcome), and it is
 * read once the answer is out. Absent (undefined) with both off: the edges then do nothing.
 */
export interface RequestInfo {
  /** grpc, grpc-web, connect, rest, oauth, http */
  protocol: string;
  /** The service's full name (zitadel.management.v1.ManagementService), "oauth", or "". */
  service: string;
  /** The method's name (GetUserByID), the OAuth endpoint (token), or "". */
  method: string;
  /** The gRPC code name (OK, NotFound, …) where the edge knows it; else "" and the HTTP status is used. */
  code: string;
}

const INFO = Symbol("portcullis.requestInfo");

type WithInfo = { [INFO]?: RequestInfo };

export const requestInfo = (req: Req): RequestInfo | undefined => (req as WithInfo)[INFO];

export function attachRequestInfo(req: Req, info: RequestInfo): void {
  (req as WithInfo)[INFO] = info;
}

/** Records the RPC an API edge routed the request to. */
export function setRpc(req: Req, service: string, method: string): void {
  const info = (req as WithInfo)[INFO];
  if (info) {
    info.service = service;
    info.method = method;
  }
}
