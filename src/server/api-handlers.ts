// The ZITADEL and Portcullis API services of the one port: gRPC, gRPC-web and Connect (connect-node),
// REST (google.api.http), reflection, the OpenAPI documents, the token preview and the extension
// endpoints. Loaded by http.ts after the port is open: evaluating this module builds the protobuf
// descriptors of every service (@zitadel/proto through @bufbuild/protobuf's registry), the largest
// part of a start (docs/benchmarks.md, "Footprint of the embedded store"). The OAuth endpoints and
// /debug answer without it; an API request that arrives before it is loaded waits for it.
import type { Logger } from "pino";
import type { Deps } from "../app/core/context.js";
import { registerServices } from "../api/connect/routes.js";
import { createConnectHandler } from "../api/connect/adapter.js";
import { stampRequestId, type Req, type Res } from "../api/http-util.js";
import { apiServices } from "../api/services/catalog.js";
import { registerReflection } from "../api/reflection/reflection.js";
import { createOpenApiHandler, OPENAPI_PATH } from "../api/openapi/handler.js";
import { createTokenPreviewRoute } from "../api/oauth/token-preview.js";
import { createPipeline } from "../api/pipeline.js";
import { createRestHandler } from "../api/rest/handler.js";
import type { ClientAddress } from "../api/client-address.js";
import { createExtensionHandler } from "../api/portcullis/extension-routes.js";
import { extensionRoutes } from "../api/portcullis/routes.js";

/** The extension API's REST paths (extension-routes.ts; the backup download writes its own headers). */
const EXTENSION_PREFIX = "/portcullis/v1/";

export interface ApiHandlers {
  /** True when the request is an RPC of a registered service, or a gRPC / gRPC-web request to any RPC-shaped path. */
  handlesRpc(req: Req, path: string): boolean;
  /** Answers an RPC (after handlesRpc). */
  rpc(req: Req, res: Res, path: string): Promise<void>;
  /** Answers any other API path (OpenAPI, token preview, extension, REST; REST answers what nothing else does). */
  serve(req: Req, res: Res, path: string, query: string): Promise<void> | void;
  /** Refuses new long polls and ends the running ones (shutdown). */
  drain(): void;
}

export function createApiHandlers(deps: Deps, log: Logger, clientAddress: ClientAddress): ApiHandlers {
  const { config } = deps;
  const services = [...apiServices];
  const pipeline = createPipeline(deps, services);
  const connect = createConnectHandler({
    routes: (router) => {
      registerServices(router, services.map((s) => s.service), pipeline, log);
      // Public, outside the pipeline (as ZITADEL's grpc-go reflection.Register).
      registerReflection(router, services.map((s) => s.service));
    },
    readMaxBytes: config.maxBodyBytes,
    log,
    authenticate: pipeline.authenticate,
    clientAddress,
  });
  const rest = createRestHandler(services, pipeline, config.maxBodyBytes, log, clientAddress);
  const tokenPreview = createTokenPreviewRoute(deps, log);
  const openapi = createOpenApiHandler(services);
  // Portcullis's own HTTP endpoints without a proto yet (/portcullis/v1/events, webhooks, backup).
  const extension = createExtensionHandler(extensionRoutes, pipeline, config.maxBodyBytes, log, clientAddress);

  return {
    handlesRpc: (req, path) => connect.handles(req, path),
    rpc(req, res, path) {
      stampRequestId(res);
      return connect(req, res, path);
    },
    serve(req, res, path, query) {
      // REST and the token preview answer through sendJson (x-request-id with the other headers); these write their own.
      if (path === "/openapi" || path.startsWith(OPENAPI_PATH) || path.startsWith(EXTENSION_PREFIX)) stampRequestId(res);
      if (openapi(req, res, path)) return;
      if (tokenPreview(req, res, path)) return;
      const x = extension(req, res, path, query);
      if (x) return x;
      return rest(req, res, path, query);
    },
    drain: () => extension.drain(),
  };
}
