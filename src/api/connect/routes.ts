import type { DescService } from "@bufbuild/protobuf";
import { createContextKey, createContextValues, type ConnectRouter, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Logger } from "pino";
import { toConnectError, toDomainError } from "../errors.js";
import type { Principal } from "../../app/core/authn.js";
import type { Pipeline } from "../pipeline.js";
import type { RequestInfo } from "../request-info.js";

/**
 * Registers every method of each service with connect-node, which serves it as gRPC, gRPC-web and
 * Connect. Each method goes through the shared pipeline; errors leave as ZITADEL-shaped statuses.
 */
const peerKey = createContextKey<string | undefined>(undefined, { description: "client address" });

/** For connectNodeAdapter's contextValues: remembers the client's address for the pipeline. */
export const peerContext = (peer: string | undefined): ContextValues => createContextValues().set(peerKey, peer);

/** The caller as the adapter authenticated it before connect read the body (see createConnectHandler). */
export type PreAuthentication = { principal: Principal } | { error: unknown };
export const preAuthKey = createContextKey<PreAuthentication | undefined>(undefined, { description: "authentication before the body" });
/** The request's metrics/tracing record (api/request-info.ts), for the outcome's code. */
export const infoKey = createContextKey<RequestInfo | undefined>(undefined, { description: "request info" });

export function registerServices(router: ConnectRouter, services: DescService[], pipeline: Pipeline, log: Logger) {
  for (const service of services) {
    const impl: Record<string, (req: never, ctx: HandlerContext) => Promise<unknown>> = {};
    for (const method of service.methods) {
      if (method.methodKind !== "unary") continue;
      impl[method.localName] = async (req, ctx) => {
        try {
          const pre = ctx.values.get(preAuthKey);
          if (pre && "error" in pre) throw pre.error;
          const out = await pipeline.invoke(method, req, (name) => ctx.requestHeader.get(name) ?? undefined, ctx.values.get(peerKey), pre?.principal);
          const info = ctx.values.get(infoKey);
          if (info) info.code = "OK";
          return out;
        } catch (e) {
          const err = toDomainError(e);
          const info = ctx.values.get(infoKey);
          if (info) info.code = err.kind;
          const reqId = ctx.requestHeader.get("x-request-id") ?? undefined;
          if (err.kind === "Internal" || err.kind === "Unknown") log.error({ err: e, method: method.name, reqId }, "request failed");
          else if (err.kind === "Unavailable") log.warn({ id: err.id, method: method.name, reqId }, err.message);
          throw toConnectError(err);
        }
      };
    }
    router.service(service, impl as never);
  }
}
