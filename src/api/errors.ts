import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { create } from "@bufbuild/protobuf";
import { DomainError, type ErrorKind } from "../domain/errors.js";

/** gRPC code and grpc-gateway HTTP status of each error kind (runtime.HTTPStatusFromCode). */
export const errorTable: Readonly<Record<ErrorKind, { code: Code; http: number }>> = {
  Canceled: { code: Code.Canceled, http: 499 },
  Unknown: { code: Code.Unknown, http: 500 },
  InvalidArgument: { code: Code.InvalidArgument, http: 400 },
  DeadlineExceeded: { code: Code.DeadlineExceeded, http: 504 },
  NotFound: { code: Code.NotFound, http: 404 },
  AlreadyExists: { code: Code.AlreadyExists, http: 409 },
  PermissionDenied: { code: Code.PermissionDenied, http: 403 },
  ResourceExhausted: { code: Code.ResourceExhausted, http: 429 },
  FailedPrecondition: { code: Code.FailedPrecondition, http: 400 },
  Aborted: { code: Code.Aborted, http: 409 },
  OutOfRange: { code: Code.OutOfRange, http: 400 },
  Unimplemented: { code: Code.Unimplemented, http: 501 },
  Internal: { code: Code.Internal, http: 500 },
  Unavailable: { code: Code.Unavailable, http: 503 },
  DataLoss: { code: Code.DataLoss, http: 500 },
  Unauthenticated: { code: Code.Unauthenticated, http: 401 },
};

const kindByCode = new Map<Code, ErrorKind>(Object.entries(errorTable).map(([k, v]) => [v.code, k as ErrorKind]));

/** Anything thrown below the edge, as a DomainError; unexpected errors become a bare Internal (details go to the log). */
export function toDomainError(e: unknown): DomainError {
  if (e instanceof DomainError) return e;
  if (e instanceof ConnectError) return new DomainError(kindByCode.get(e.code) ?? "Unknown", "", e.rawMessage);
  return new DomainError("Internal", "RECOVER", "Errors.Internal");
}

/** The status message ZITADEL sends: "<message> (<id>)", or the bare message for plain statuses. */
export const statusMessage = (e: DomainError) => (e.id ? `${e.message} (${e.id})` : e.message);

/** gRPC / gRPC-web / Connect: the status with one zitadel.v1.ErrorDetail (none for plain statuses). */
export function toConnectError(e: DomainError): ConnectError {
  const details = e.id ? [{ desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { id: e.id, message: e.message }) }] : [];
  const metadata = e.retryAfterSeconds ? new Headers({ "retry-after": String(e.retryAfterSeconds) }) : undefined;
  return new ConnectError(statusMessage(e), errorTable[e.kind].code, metadata, details);
}

/** REST: grpc-gateway's google.rpc.Status body and HTTP status. */
export function toRestError(e: DomainError): { status: number; body: string } {
  const body: Record<string, unknown> = { code: errorTable[e.kind].code, message: statusMessage(e) };
  if (e.id) body.details = [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: e.id, message: e.message }];
  return { status: errorTable[e.kind].http, body: JSON.stringify(body) };
}
