import { timestampDate, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";
import * as lists from "../../app/credentials/credential-lists.js";
import * as policies from "../../app/credentials/policy.js";
import * as secrets from "../../app/credentials/secrets.js";
import { invalidArgument } from "../../domain/errors.js";
import type { ServiceHandlers } from "../pipeline.js";
import type { ListAppCredentialsRequest, ListUserCredentialsRequest } from "../proto/portcullis/v1/credential_list_pb.js";
import { CredentialKind, type ListExpiringCredentialsRequest } from "../proto/portcullis/v1/expiring_pb.js";
import type { SetCredentialPolicyRequest } from "../proto/portcullis/v1/policy_pb.js";
import type * as pb from "../proto/portcullis/v1/secret_pb.js";
import { listDetails, listInput, objectDetails, readDetails, ts } from "../users/mappers.js";

/**
 * portcullis.v1.CredentialService (proto/portcullis/v1/credentials.proto): thin adapters over the
 * commands and queries of app/credentials, which any other edge (ZITADEL's v2 UserService) can call too.
 */

const date = (t: Timestamp | undefined) => (t ? timestampDate(t) : undefined);

/** Whole seconds of a Duration (absent: 0); fractions are refused rather than rounded. */
export function seconds(d: Duration | undefined, field: string): number {
  if (!d) return 0;
  if (d.nanos !== 0 || d.seconds < 0n) throw invalidArgument("PORT-duration", `${field} must be a non-negative whole number of seconds`);
  return Number(d.seconds);
}

const duration = (s: number) => ({ seconds: BigInt(s), nanos: 0 });

const secretMessage = (s: secrets.MachineSecretRow) => ({
  id: s.id,
  details: readDetails(s.sequence, s.createdAt, s.changedAt, s.orgId),
  description: s.description,
  expirationDate: ts(s.expiration),
  creationDate: ts(s.createdAt),
  lastUsed: ts(s.lastUsed),
});

type CredentialKindName = lists.CredentialRow["kind"];

const KINDS: Record<CredentialKindName, CredentialKind> = {
  secret: CredentialKind.SECRET,
  key: CredentialKind.MACHINE_KEY,
  pat: CredentialKind.PERSONAL_ACCESS_TOKEN,
  app_secret: CredentialKind.APP_SECRET,
  app_key: CredentialKind.APP_KEY,
};

/** The list filter of a request: one kind (unspecified: all; an unknown number is refused) and one id. */
function listFilter(kind: CredentialKind, id: string): lists.CredentialListFilter {
  if (kind === CredentialKind.UNSPECIFIED) return { id: id || undefined };
  const name = (Object.keys(KINDS) as CredentialKindName[]).find((k) => KINDS[k] === kind);
  if (!name) throw invalidArgument("PORT-cred-kind", "Unknown credential kind");
  return { kind: name, id: id || undefined };
}

const credentialMessage = (c: lists.CredentialRow) => ({
  kind: KINDS[c.kind],
  id: c.id,
  creationDate: ts(c.createdAt),
  expirationDate: ts(c.expiration),
  lastUsed: ts(c.lastUsed),
  description: c.description,
});

export const credentialServiceHandlers: ServiceHandlers = {
  async listSecrets(ctx, req: pb.ListSecretsRequest) {
    const r = await secrets.listSecrets(ctx.deps, ctx.caller, req.userId, listInput(req.query));
    return { details: listDetails(r.meta), result: r.secrets.map(secretMessage) };
  },
  async getSecret(ctx, req: pb.GetSecretRequest) {
    return { secret: secretMessage(await secrets.getSecret(ctx.deps, ctx.caller, req.userId, req.secretId)) };
  },
  async addSecret(ctx, req: pb.AddSecretRequest) {
    const r = await secrets.addSecret(ctx.deps, ctx.caller, { userId: req.userId, description: req.description, expirationDate: date(req.expirationDate) });
    return { secretId: r.secretId, clientId: r.clientId, clientSecret: r.clientSecret, expirationDate: ts(r.expirationDate), details: objectDetails(r.details) };
  },
  async rotateSecret(ctx, req: pb.RotateSecretRequest) {
    const r = await secrets.rotateSecret(ctx.deps, ctx.caller, {
      userId: req.userId,
      secretId: req.secretId || undefined,
      gracePeriodSeconds: seconds(req.gracePeriod, "grace_period"),
      description: req.description,
      expirationDate: date(req.expirationDate),
    });
    return {
      secretId: r.secretId,
      clientId: r.clientId,
      clientSecret: r.clientSecret,
      expirationDate: ts(r.expirationDate),
      retiredSecretIds: r.retired,
      details: objectDetails(r.details),
    };
  },
  async updateSecret(ctx, req: pb.UpdateSecretRequest) {
    if (req.clearExpiration && req.expirationDate) throw invalidArgument("PORT-secret-update", "expiration_date and clear_expiration exclude each other");
    const details = await secrets.updateSecret(ctx.deps, ctx.caller, {
      userId: req.userId,
      secretId: req.secretId,
      description: req.description,
      expirationDate: req.clearExpiration ? null : date(req.expirationDate),
    });
    return { details: objectDetails(details) };
  },
  async removeSecret(ctx, req: pb.RemoveSecretRequest) {
    return { details: objectDetails(await secrets.removeSecret(ctx.deps, ctx.caller, req.userId, req.secretId)) };
  },

  async getCredentialPolicy(ctx) {
    const { policy, details } = await policies.getCredentialPolicy(ctx.deps, ctx.caller);
    return {
      policy: { maxSecretLifetime: duration(policy.maxSecretLifetime), maxKeyLifetime: duration(policy.maxKeyLifetime), maxPatLifetime: duration(policy.maxPatLifetime) },
      details: objectDetails(details),
    };
  },
  async setCredentialPolicy(ctx, req: SetCredentialPolicyRequest) {
    const details = await policies.setCredentialPolicy(ctx.deps, ctx.caller, {
      maxSecretLifetime: seconds(req.maxSecretLifetime, "max_secret_lifetime"),
      maxKeyLifetime: seconds(req.maxKeyLifetime, "max_key_lifetime"),
      maxPatLifetime: seconds(req.maxPatLifetime, "max_pat_lifetime"),
    });
    return { details: objectDetails(details) };
  },

  async listUserCredentials(ctx, req: ListUserCredentialsRequest) {
    const r = await lists.listUserCredentials(ctx.deps, ctx.caller, req.userId, listFilter(req.kind, req.credentialId), listInput(req.query));
    return { details: listDetails(r.meta), result: r.credentials.map(credentialMessage) };
  },
  async listAppCredentials(ctx, req: ListAppCredentialsRequest) {
    const r = await lists.listAppCredentials(ctx.deps, ctx.caller, req.projectId, req.appId, listFilter(req.kind, req.credentialId), listInput(req.query));
    return { details: listDetails(r.meta), result: r.credentials.map(credentialMessage) };
  },

  async listExpiringCredentials(ctx, req: ListExpiringCredentialsRequest) {
    const r = await lists.listExpiringCredentials(
      ctx.deps,
      ctx.caller,
      { withinSeconds: seconds(req.within, "within"), unusedForSeconds: seconds(req.unusedFor, "unused_for") },
      listInput(req.query),
    );
    return {
      details: listDetails(r.meta),
      result: r.credentials.map((c) => ({
        kind: KINDS[c.kind],
        id: c.id,
        userId: c.userId,
        userName: c.userName,
        expirationDate: ts(c.expiration),
        creationDate: ts(c.createdAt),
        lastUsed: ts(c.lastUsed),
        projectId: c.projectId,
        appId: c.appId,
        appName: c.appName,
      })),
    };
  },
};
