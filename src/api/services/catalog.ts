import type { DescService } from "@bufbuild/protobuf";
import { AdminService } from "@zitadel/proto/zitadel/admin_pb.js";
import { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import { credentialServiceHandlers } from "../credentials/credential-service.js";
import type { ServiceHandlers } from "../pipeline.js";
import { CredentialService } from "../proto/portcullis/v1/credentials_pb.js";
import { adminHandlers } from "./admin.js";
import { managementHandlers } from "./management.js";

export interface ApiService {
  readonly service: DescService;
  readonly handlers: ServiceHandlers;
  /** Where its google.api.http routes are mounted (REST), e.g. `/management/v1`. */
  readonly prefix: string;
  /**
   * What the router puts before each route: the prefix (default) for ZITADEL's v1 services, whose
   * routes are relative (`/users/{id}`); "" for services whose routes carry their full path
   * (`/portcullis/v1/users/{user_id}/secrets`, as ZITADEL's v2 services do).
   */
  readonly routePrefix?: string;
}

/**
 * Every service Portcullis serves. The server registers these for gRPC/gRPC-web/Connect and REST,
 * reflection lists them and the OpenAPI documents describe them: one list, so none can miss one.
 */
export const apiServices: readonly ApiService[] = [
  { service: ManagementService, handlers: managementHandlers, prefix: "/management/v1" },
  { service: AdminService, handlers: adminHandlers, prefix: "/admin/v1" },
  // Portcullis's own (proto/portcullis/v1/credentials.proto); its routes carry their full path.
  { service: CredentialService, handlers: credentialServiceHandlers, prefix: "/portcullis/v1", routePrefix: "" },
];
