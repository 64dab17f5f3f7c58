import { createFileRegistry, fromBinary, getOption, type DescExtension, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { http } from "@zitadel/proto/google/api/annotations_pb.js";
import { CustomHttpPatternSchema, HttpRuleSchema } from "@zitadel/proto/google/api/http_pb.js";
import { ListDetailsSchema, ListQuerySchema, ObjectDetailsSchema } from "@zitadel/proto/zitadel/object_pb.js";
import { AuthOptionSchema, auth_option } from "@zitadel/proto/zitadel/options_pb.js";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CredentialService } from "./portcullis/v1/credentials_pb.js";

describe("portcullis.v1.CredentialService descriptor", () => {
  it("is generated from proto/portcullis/v1/credentials.proto and up to date", () => {
    const r = spawnSync(process.execPath, ["scripts/gen-proto.mjs", "--check"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("compiles against declarations (proto-vendor/) that match @zitadel/proto's descriptors field for field", () => {
    const built = spawnSync("node_modules/.bin/buf", ["build", "proto-vendor", "--as-file-descriptor-set", "-o", "-"]);
    expect(built.stderr.toString()).toBe("");
    const vendored = createFileRegistry(fromBinary(FileDescriptorSetSchema, new Uint8Array(built.stdout)));
    const shape = (m: DescMessage) => m.fields.map((f) => `${f.name}=${f.number}:${f.fieldKind}:${f.scalar ?? f.message?.typeName ?? ""}:${f.oneof?.name ?? ""}`);
    for (const real of [ObjectDetailsSchema, ListQuerySchema, ListDetailsSchema, AuthOptionSchema, HttpRuleSchema, CustomHttpPatternSchema]) {
      const mine = vendored.getMessage(real.typeName);
      expect(mine && shape(mine), real.typeName).toEqual(shape(real));
    }
    for (const real of [http, auth_option] as DescExtension[]) {
      const mine = vendored.getExtension(real.typeName);
      expect(mine && [mine.number, mine.extendee.typeName, mine.message?.typeName], real.typeName).toEqual([real.number, real.extendee.typeName, real.message?.typeName]);
    }
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
      "ListUserCredentials post /portcullis/v1/users/{user_id}/credentials/_search user.read",
      "ListAppCredentials post /portcullis/v1/projects/{project_id}/apps/{app_id}/credentials/_search project.app.read",
    ]);
    expect(CredentialService.typeName).toBe("portcullis.v1.CredentialService");
  });
});
