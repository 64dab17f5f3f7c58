import { getOption, hasOption, type DescMessage, type DescMethod, type DescService, type Message, type MessageInitShape } from "@bufbuild/protobuf";
import { auth_option } from "@zitadel/proto/zitadel/options_pb.js";
import { options as v2Options } from "@zitadel/proto/zitadel/protoc_gen_zitadel/v2/options_pb.js";
import { authenticateApiCaller, type Principal } from "../app/core/authn.js";
import { authorize, type ScopedTarget } from "../app/core/authz.js";
import type { Caller, Deps } from "../app/core/context.js";
import { DomainError, unauthenticated } from "../domain/errors.js";
import { validateMessage } from "./validate/index.js";

/** What a handler gets besides its request. */
export interface CallContext {
  deps: Deps;
  caller: Caller;
  principal: Principal;
}

export type Handler = (ctx: CallContext, req: any) => Promise<MessageInitShape<DescMessage>> | MessageInitShape<DescMessage>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A handler that names the project its request acts on when the method's auth option has no
 * `check_field_name` for it (the user-grant methods: ZITADEL checks the project itself,
 * checkExplicitProjectPermission). The pipeline lets a membership in that project grant the
 * permission, exactly as for a project check field.
 */
export type TargetResolver = (deps: Deps, req: any) => ScopedTarget | undefined | Promise<ScopedTarget | undefined>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type ScopedHandler = Handler & { target: TargetResolver };

export const scoped = (target: TargetResolver, handler: Handler): ScopedHandler => Object.assign(handler, { target });

/** Handlers by method local name (`removeMachineSecret`), per service. */
export type ServiceHandlers = Partial<Record<string, Handler>>;

export type HeaderGetter = (name: string) => string | undefined;

interface CompiledMethod {
  method: DescMethod;
  /** "" = public (no auth option), "authenticated", or a permission such as "user.write". */
  permission: string;
  /**
   * The auth option's `check_field_name` when it names a project (`Id` on the project methods,
   * `ProjectId`): the request field whose project's memberships may grant the permission.
   */
  projectField?: string;
  /**
   * v2 services (`zitadel.protoc_gen_zitadel.v2.options`): the org comes from the request or the
   * resource, not from x-zitadel-orgid; the pipeline authenticates and the handler authorizes in the
   * resource's org (authorizeInOrg), as ZITADEL's v2 commands check permissions themselves.
   */
  resourceAuthz: boolean;
  handler?: Handler;
}

/** Go field names of `check_field_name` that hold a project id (GrantId names a project grant: not yet served). */
const PROJECT_CHECK_FIELDS = new Set(["Id", "ProjectId"]);
const snakeCase = (goName: string) => goName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

function projectField(method: DescMethod, checkFieldName: string): string | undefined {
  if (!PROJECT_CHECK_FIELDS.has(checkFieldName)) return undefined;
  return method.input.fields.find((f) => f.name === snakeCase(checkFieldName) && f.fieldKind === "scalar")?.localName;
}

const scopedTarget = (deps: Deps, m: CompiledMethod, input: Message): ScopedTarget | undefined | Promise<ScopedTarget | undefined> => {
  const resolver = (m.handler as Partial<ScopedHandler> | undefined)?.target;
  if (!m.projectField) return resolver?.(deps, input);
  const v = (input as unknown as Record<string, unknown>)[m.projectField];
  return typeof v === "string" && v ? { type: "project", id: v } : undefined;
};

/**
 * The request pipeline shared by every protocol, in ZITADEL's order: authentication, target org and
 * permission, then input validation, then the handler. So an unauthenticated request with a bad body
 * gets 401, and a caller without the permission gets 403/404 before validation runs.
 */
export interface Pipeline {
  /**
   * `peer`: the client's address, for the failed-authentication limit. `principal`: the caller, when the
   * edge has already authenticated it with `authenticate`.
   */
  invoke(method: DescMethod, input: Message, header: HeaderGetter, peer?: string, principal?: Principal): Promise<MessageInitShape<DescMessage>>;
  /**
   * Authentication alone, from the headers, for an edge that checks the caller before it reads the
   * body (so a caller without a valid token cannot make it buffer one). undefined: the method is public.
   */
  authenticate(method: DescMethod, header: HeaderGetter, peer?: string): Principal | Promise<Principal> | undefined;
  /**
   * The bearer token's caller with the permission, for Portcullis's HTTP extensions outside the proto
   * services (api/portcullis/): the same authentication, failure limit and authorization (in the
   * caller's org, x-zitadel-orgid ignored) as a method declaring that permission.
   */
  authorizeCaller(header: HeaderGetter, peer: string | undefined, permission: string): Promise<CallContext>;
}

/** The permission a method declares: v1's `zitadel.v1.auth_option` or v2's `zitadel.protoc_gen_zitadel.v2.options`. */
export function methodPermission(method: DescMethod): { permission: string; resourceAuthz: boolean } {
  const v2 = hasOption(method, v2Options) ? getOption(method, v2Options).authOption : undefined;
  return v2 ? { permission: v2.permission, resourceAuthz: true } : { permission: getOption(method, auth_option).permission, resourceAuthz: false };
}

export function createPipeline(deps: Deps, services: { service: DescService; handlers: ServiceHandlers }[]): Pipeline {
  // Each method's permission and project field are read from its options on its first call, not for
  // all ~500 methods at start (about 0.06 s of a restart's CPU; docs/benchmarks.md, "The start path").
  const served = new Map<DescMethod, ServiceHandlers>();
  for (const { service, handlers } of services) for (const method of service.methods) served.set(method, handlers);
  const compiled = new Map<DescMethod, CompiledMethod>();
  const compiledMethod = (method: DescMethod): CompiledMethod | undefined => {
    let m = compiled.get(method);
    if (m) return m;
    const handlers = served.get(method);
    if (!handlers) return undefined;
    const p = methodPermission(method);
    const field = p.resourceAuthz ? undefined : projectField(method, getOption(method, auth_option).checkFieldName);
    m = { method, ...p, ...(field ? { projectField: field } : {}), handler: handlers[method.localName] };
    compiled.set(method, m);
    return m;
  };

  const apiAuthFailures = deps.metrics.authFailures.labels("api");
  const refusedAddress = deps.metrics.rateLimitRefusals.labels("failures_per_address");
  const tooManyFailures = (wait: number) =>
    new DomainError("ResourceExhausted", "AUTH-rate", "too many failed authentications from this address", wait);

  /** Sync when the token's user and org are cached (the common case), a promise otherwise. */
  function authenticate(header: HeaderGetter, peer: string | undefined): Principal | Promise<Principal> {
    const wait = peer ? deps.limits.failAddress.wait(peer) : 0;
    if (wait > 0) {
      refusedAddress.inc();
      throw tooManyFailures(wait);
    }
    const failed = (e: unknown): never => {
      if (e instanceof DomainError && e.kind === "Unauthenticated") {
        apiAuthFailures.inc();
        if (peer) deps.limits.failAddress.take(peer);
      }
      throw e;
    };
    let r: Principal | Promise<Principal>;
    try {
      r = verify(header);
    } catch (e) {
      return failed(e);
    }
    return r instanceof Promise ? r.catch(failed) : r;
  }

  function verify(header: HeaderGetter): Principal | Promise<Principal> {
    const authz = header("authorization");
    if (!authz) throw new DomainError("Unauthenticated", "", "auth header missing");
    // ZITADEL splits on the exact, case-sensitive "Bearer ".
    const parts = authz.split("Bearer ");
    if (parts.length !== 2 || parts[0] !== "" || !parts[1]) throw unauthenticated("AUTH-toLo1", "invalid auth header");
    return authenticateApiCaller(deps, parts[1]);
  }

  return {
    authenticate: (method, header, peer) => (compiledMethod(method)?.permission ? authenticate(header, peer) : undefined),
    async authorizeCaller(header, peer, permission) {
      const principal = await authenticate(header, peer);
      return { deps, caller: await authorize(deps, principal, undefined, permission), principal };
    },
    async invoke(method, input, header, peer, authenticated) {
      const m = compiledMethod(method);
      if (!m) throw new DomainError("Unimplemented", "", `unknown method ${method.name}`);
      let ctx: CallContext | undefined;
      if (m.permission) {
        // Awaited only when something had to be loaded: the common, cached case stays synchronous.
        const a = authenticated ?? authenticate(header, peer);
        const principal = a instanceof Promise ? await a : a;
        let z: Caller | Promise<Caller>;
        if (m.resourceAuthz) z = { userId: principal.userId, resourceOwner: principal.orgId, orgId: principal.orgId };
        else {
          const t = scopedTarget(deps, m, input);
          const target = t instanceof Promise ? await t : t;
          z = authorize(deps, principal, header("x-zitadel-orgid")?.trim() || undefined, m.permission, target);
        }
        const caller = z instanceof Promise ? await z : z;
        ctx = { deps, caller, principal };
      }
      const violation = validateMessage(method.input, input);
      if (violation) throw new DomainError("InvalidArgument", "", violation);
      if (!m.handler) throw new DomainError("Unimplemented", "API-unimpl", `${method.parent.typeName}.${method.name} is not implemented by Portcullis`);
      return m.handler(ctx as CallContext, input);
    },
  };
}
