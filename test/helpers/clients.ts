import { ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createManagementServiceClient } from "@zitadel/client/v1";
import { createOrganizationServiceClient, createUserServiceClient } from "@zitadel/client/v2";
import { OrganizationService } from "@zitadel/proto/zitadel/org/v2/org_service_pb.js";
import { UserService } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import { createServerTransport } from "@zitadel/client/node";
import { createClientTransport } from "@zitadel/client/web";
import { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import { AppService } from "@zitadel/proto/zitadel/app/v2beta/app_service_pb.js";
import { AuthorizationService } from "@zitadel/proto/zitadel/authorization/v2beta/authorization_service_pb.js";
import { ProjectService } from "@zitadel/proto/zitadel/project/v2beta/project_service_pb.js";

export type Protocol = "grpc" | "grpc-web" | "connect";

const withHeaders = (token: string | undefined, orgId?: string): Interceptor => (next) => async (req) => {
  if (token) req.header.set("authorization", `Bearer ${token}`);
  if (orgId) req.header.set("x-zitadel-orgid", orgId);
  return next(req);
};

/**
 * The official ZITADEL client over gRPC (its node transport) and gRPC-web (its web transport, fetch
 * based), or a Connect transport.
 */
export function managementClient(baseUrl: string, protocol: Protocol, token?: string, orgId?: string): Client<typeof ManagementService> {
  let transport: Transport;
  if (protocol === "grpc") {
    transport = token
      ? createServerTransport(token, { baseUrl, interceptors: orgId ? [withHeaders(undefined, orgId)] : [] })
      : createGrpcTransport({ baseUrl });
    return createManagementServiceClient(transport) as unknown as Client<typeof ManagementService>;
  }
  if (protocol === "grpc-web" && token) {
    transport = createClientTransport(token, { baseUrl, interceptors: orgId ? [withHeaders(undefined, orgId)] : [] } as never);
    return createManagementServiceClient(transport) as unknown as Client<typeof ManagementService>;
  }
  const opts = { baseUrl, httpVersion: "1.1" as const, interceptors: [withHeaders(token, orgId)] };
  transport = protocol === "grpc-web" ? createGrpcWebTransport(opts) : createConnectTransport(opts);
  return createClient(ManagementService, transport);
}

/** REST with fetch: returns status, headers and parsed JSON body. */
export async function rest(baseUrl: string, method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.orgId) headers["x-zitadel-orgid"] = opts.orgId;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["content-type"] = "application/json";
  }
  const res = await fetch(baseUrl + path, { method, headers, body });
  const text = await res.text();
  let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** POST /oauth/v2/token with a form body. */
export async function tokenRequest(baseUrl: string, form: Record<string, string>, basic?: { id: string; secret: string }) {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (basic) headers.authorization = "Basic " + Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString("base64");
  const res = await fetch(`${baseUrl}/oauth/v2/token`, { method: "POST", headers, body: new URLSearchParams(form).toString() });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The ConnectError a call ends with, or undefined when it succeeds. */
export const errorOf = (p: Promise<unknown>): Promise<ConnectError | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );

/**
 * The official ZITADEL v2 clients (`@zitadel/client/v2`): over gRPC with its node transport, or over
 * Connect.
 */
function v2Transport(baseUrl: string, protocol: "grpc" | "connect", token: string, orgId?: string): Transport {
  return protocol === "grpc"
    ? createServerTransport(token, { baseUrl, interceptors: orgId ? [withHeaders(undefined, orgId)] : [] })
    : createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [withHeaders(token, orgId)] });
}

/** `orgId`: an x-zitadel-orgid header to send anyway (tests that v2 ignores it). */
export function userServiceV2(baseUrl: string, protocol: "grpc" | "connect", token: string, orgId?: string): Client<typeof UserService> {
  return createUserServiceClient(v2Transport(baseUrl, protocol, token, orgId)) as unknown as Client<typeof UserService>;
}

export function organizationServiceV2(baseUrl: string, protocol: "grpc" | "connect", token: string): Client<typeof OrganizationService> {
  return createOrganizationServiceClient(v2Transport(baseUrl, protocol, token)) as unknown as Client<typeof OrganizationService>;
}

/**
 * The v2beta services (@zitadel/client ships no clients for them): connect's createClient with the
 * @zitadel/proto descriptor, over @zitadel/client's gRPC transport or a Connect transport.
 */
export function projectServiceV2beta(baseUrl: string, protocol: "grpc" | "connect", token: string, orgId?: string): Client<typeof ProjectService> {
  return createClient(ProjectService, v2Transport(baseUrl, protocol, token, orgId));
}

export function authorizationServiceV2beta(baseUrl: string, protocol: "grpc" | "connect", token: string): Client<typeof AuthorizationService> {
  return createClient(AuthorizationService, v2Transport(baseUrl, protocol, token));
}

export function appServiceV2beta(baseUrl: string, protocol: "grpc" | "connect", token: string): Client<typeof AppService> {
  return createClient(AppService, v2Transport(baseUrl, protocol, token));
}
