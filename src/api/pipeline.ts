import { getOption, type DescMessage, type DescMethod, type DescService, type Message, type MessageInitShape } from "@bufbuild/protobuf";
import { auth_option } from "@zitadel/proto/zitadel/options_pb.js";
import { authenticateBearer, type Principal } from "../app/authn.js";
import { authorize } from "../app/authz.js";
import type { Caller, Deps } from "../app/context.js";
import { DomainError, unauthenticated } from "../domain/errors.js";
import { validateMessage } from "./validate.js";

/** What a handler gets besides its request. */
export interface CallContext {
  deps: Deps;
  caller: Caller;
  principal: Principal;
}

export type Handler = (ctx: CallContext, req: any) => Promise<MessageInitShape<DescMessage>> | MessageInitShape<DescMessage>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Handlers by method local name (`removeMachineSecret`), per service. */
export type ServiceHandlers = Partial<Record<string, Handler>>;

export type HeaderGetter = (name: string) => string | undefined;

interface CompiledMethod {
  method: DescMethod;
  /** "" = public (no auth option), "authenticated", or a permission such as "user.write". */
  permission: string;
  handler?: Handler;
}

/**
 * The request pipeline shared by every protocol, in ZITADEL's order: authentication, target org and
 * permission, then input validation, then the handler. So an unauthenticated request with a bad body
 * gets 401, and a caller without the permission gets 403/404 before validation runs.
 */
export interface Pipeline {
  /** `peer`: the client's address, for the failed-authentication limit. */
  invoke(method: DescMethod, input: Message, header: HeaderGetter, peer?: string): Promise<MessageInitShape<DescMessage>>;
}

export function createPipeline(deps: Deps, services: { service: DescService; handlers: ServiceHandlers }[]): Pipeline {
  const compiled = new Map<DescMethod, CompiledMethod>();
  for (const { service, handlers } of services)
    for (const method of service.methods) {
      const opt = getOption(method, auth_option);
      compiled.set(method, { method, permission: opt.permission, handler: handlers[method.localName] });
    }

  const tooManyFailures = (wait: number) =>
    new DomainError("ResourceExhausted", "AUTH-rate", "too many failed authentications from this address", wait);

  async function authenticate(header: HeaderGetter, peer: string | undefined): Promise<Principal> {
    const wait = peer ? deps.limits.failAddress.wait(peer) : 0;
    if (wait > 0) throw tooManyFailures(wait);
    try {
      return await verify(header);
    } catch (e) {
      if (peer && e instanceof DomainError && e.kind === "Unauthenticated") deps.limits.failAddress.take(peer);
      throw e;
    }
  }

  async function verify(header: HeaderGetter): Promise<Principal> {
    const authz = header("authorization");
    if (!authz) throw new DomainError("Unauthenticated", "", "auth header missing");
    // ZITADEL splits on the exact, case-sensitive "Bearer ".
    const parts = authz.split("Bearer ");
    if (parts.length !== 2 || parts[0] !== "" || !parts[1]) throw unauthenticated("AUTH-toLo1", "invalid auth header");
    const principal = await authenticateBearer(deps, parts[1]);
    if (!principal) throw unauthenticated("AUTH-7fs1e", "Errors.Token.Invalid");
    if (principal.kind !== "pat") {
      const instance = deps.cache.peek(deps.instanceId, "instance", deps.instanceId) ?? (await deps.cache.get(deps.instanceId, "instance", deps.instanceId));
      if (!principal.aud.includes(instance.projectId)) throw unauthenticated("AUTH-7fs1e", "Errors.Token.Invalid");
    }
    return principal;
  }

  return {
    async invoke(method, input, header, peer) {
      const m = compiled.get(method);
      if (!m) throw new DomainError("Unimplemented", "", `unknown method ${method.name}`);
      let ctx: CallContext | undefined;
      if (m.permission) {
        const principal = await authenticate(header, peer);
        const caller = await authorize(deps, principal, header("x-zitadel-orgid")?.trim() || undefined, m.permission);
        ctx = { deps, caller, principal };
      }
      const violation = validateMessage(method.input, input);
      if (violation) throw new DomainError("InvalidArgument", "", violation);
      if (!m.handler) throw new DomainError("Unimplemented", "API-unimpl", `${method.parent.typeName}.${method.name} is not implemented by Portcullis`);
      return m.handler(ctx as CallContext, input);
    },
  };
}
