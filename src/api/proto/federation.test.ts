import { getOption } from "@bufbuild/protobuf";
import { http } from "@zitadel/proto/google/api/annotations_pb.js";
import { auth_option } from "@zitadel/proto/zitadel/options_pb.js";
import { describe, expect, it } from "vitest";
import { FederationService } from "./portcullis/v1/federation_pb.js";

describe("portcullis.v1.FederationService descriptor", () => {
  it("declares every method's REST route under /portcullis/v1/ and its permission", () => {
    const routes = FederationService.methods.map((m) => {
      const rule = getOption(m, http);
      return `${m.name} ${rule.pattern.case} ${String(rule.pattern.value)} ${getOption(m, auth_option).permission}`;
    });
    expect(routes).toEqual([
      "AddTrustPolicy post /portcullis/v1/federation/policies org.write",
      "AddTrustPolicyFromPreset post /portcullis/v1/federation/policies/_preset org.write",
      "GetTrustPolicy get /portcullis/v1/federation/policies/{policy_id} policy.read",
      "ListTrustPolicies post /portcullis/v1/federation/policies/_search policy.read",
      "UpdateTrustPolicy put /portcullis/v1/federation/policies/{policy_id} org.write",
      "RemoveTrustPolicy delete /portcullis/v1/federation/policies/{policy_id} org.write",
      "AddFederationBinding post /portcullis/v1/users/{user_id}/federation/bindings user.write",
      "ListFederationBindings post /portcullis/v1/users/{user_id}/federation/bindings/_search user.read",
      "RemoveFederationBinding delete /portcullis/v1/users/{user_id}/federation/bindings/{binding_id} user.write",
      "DryRunFederation post /portcullis/v1/federation/_dry_run user.read",
    ]);
  });
});
