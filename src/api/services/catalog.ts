import type { DescService } from "@bufbuild/protobuf";
import { AdminService } from "@zitadel/proto/zitadel/admin_pb.js";
import { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import { OrganizationService } from "@zitadel/proto/zitadel/org/v2/org_service_pb.js";
import { UserService } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import { AppService } from "@zitadel/proto/zitadel/app/v2beta/app_service_pb.js";
import { AuthorizationService } from "@zitadel/proto/zitadel/authorization/v2beta/authorization_service_pb.js";
import { ProjectService } from "@zitadel/proto/zitadel/project/v2beta/project_service_pb.js";
import { credentialServiceHandlers } from "../credentials/credential-service.js";
import { federationServiceHandlers } from "../federation/federation-service.js";
import type { ServiceHandlers } from "../pipeline.js";
import { CredentialService } from "../proto/portcullis/v1/credentials_pb.js";
import { FederationService } from "../proto/portcullis/v1/federation_pb.js";
import { adminHandlers } from "./admin.js";
import { appServiceV2betaHandlers } from "./app-v2beta.js";
import { authorizationServiceV2betaHandlers } from "./authorization-v2beta.js";
import { managementHandlers } from "./management.js";
import { organizationServiceV2Handlers } from "./org-v2.js";
import { projectServiceV2betaHandlers } from "./project-v2beta.js";
import { userServiceV2Handlers } from "./user-v2.js";

export interface ApiService {
  readonly service: DescService;
  readonly handlers: ServiceHandlers;
  /**
   * Where its google.api.http routes are mounted (REST), e.g. `/management/v1`; "" for the v2
   * services, whose routes carry their whole path (`/v2/users/…`).
   */
  readonly prefix: string;
}

/**
 * Every service Portcullis serves. The server registers these for gRPC/gRPC-web/Connect and REST,
 * reflection lists them and the OpenAPI documents describe them: one list, so none can miss one.
 */
export const apiServices: readonly ApiService[] = [
  { service: ManagementService, handlers: managementHandlers, prefix: "/management/v1" },
  { service: AdminService, handlers: adminHandlers, prefix: "/admin/v1" },
  // v2: authorized in the org of the resource (pipeline.ts methodPermission), never x-zitadel-orgid.
  { service: UserService, handlers: userServiceV2Handlers, prefix: "" },
  { service: OrganizationService, handlers: organizationServiceV2Handlers, prefix: "" },
  { service: ProjectService, handlers: projectServiceV2betaHandlers, prefix: "" },
  { service: AuthorizationService, handlers: authorizationServiceV2betaHandlers, prefix: "" },
  { service: AppService, handlers: appServiceV2betaHandlers, prefix: "" },
  // Portcullis's own (proto/portcullis/v1/credentials.proto); its routes carry their full path.
  { service: CredentialService, handlers: credentialServiceHandlers, prefix: "" },
  { service: FederationService, handlers: federationServiceHandlers, prefix: "" },
];
