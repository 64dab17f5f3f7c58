import { getOption } from "@bufbuild/protobuf";
import { http } from "@zitadel/proto/google/api/annotations_pb.js";
import { auth_option } from "@zitadel/proto/zitadel/options_pb.js";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CredentialService } from "./portcullis/v1/credentials_pb.js";

describe("portcullis.v1.CredentialService descriptor", () => {
  it("is generated from proto/portcullis/v1/credentials.proto and up to date", () => {
    const r = spawnSync(process.execPath, ["scripts/gen-proto.mjs", "--check"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("declares every method's REST route under /portcullis/v1/ and its permission", () => {
    const routes = CredentialService.methods.map((m) => {
      const rule = getOption(m, http);
      return `${m.name} ${rule.pattern.case} ${String(rule.pattern.value)} ${getOption(m, auth_option).permission}`;
    });
    expect(routes).toEqual([
      "ListSecrets post /portcullis/v1/users/{user_id}/secrets/_search user.read",
      "GetSecret get /portcullis/v1/users/{user_id}/secrets/{secret_id} user.read",
      "AddSecret post /portcullis/v1/users/{user_id}/secrets user.write",
      "RotateSecret post /portcullis/v1/users/{user_id}/secrets/_rotate user.write",
      "UpdateSecret put /portcullis/v1/users/{user_id}/secrets/{secret_id} user.write",
      "RemoveSecret delete /portcullis/v1/users/{user_id}/secrets/{secret_id} user.write",
      "GetCredentialPolicy get /portcullis/v1/policies/credentials policy.read",
      "SetCredentialPolicy put /portcullis/v1/policies/credentials org.write",
      "ListExpiringCredentials post /portcullis/v1/credentials/expiring/_search user.read",
    ]);
    expect(CredentialService.typeName).toBe("portcullis.v1.CredentialService");
  });
});
