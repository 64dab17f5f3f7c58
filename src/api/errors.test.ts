import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { DomainError, type ErrorKind } from "../domain/errors.js";
import { errorTable, toConnectError, toDomainError, toRestError } from "./errors.js";

/** grpc-gateway's runtime.HTTPStatusFromCode, and the gRPC code numbers. */
const expected: [ErrorKind, number, number][] = [
  ["Canceled", 1, 499],
  ["Unknown", 2, 500],
  ["InvalidArgument", 3, 400],
  ["DeadlineExceeded", 4, 504],
  ["NotFound", 5, 404],
  ["AlreadyExists", 6, 409],
  ["PermissionDenied", 7, 403],
  ["ResourceExhausted", 8, 429],
  ["FailedPrecondition", 9, 400],
  ["Aborted", 10, 409],
  ["OutOfRange", 11, 400],
  ["Unimplemented", 12, 501],
  ["Internal", 13, 500],
  ["Unavailable", 14, 503],
  ["DataLoss", 15, 500],
  ["Unauthenticated", 16, 401],
];

describe("error mapping", () => {
  it.each(expected)("%s → gRPC %i, HTTP %i, REST body and ErrorDetail", (kind, code, http) => {
    expect(errorTable[kind]).toEqual({ code, http });
    const e = new DomainError(kind, "TEST-1d", "Something happened");
    const rest = toRestError(e);
    expect(rest.status).toBe(http);
    expect(JSON.parse(rest.body)).toEqual({
      code,
      message: "Something happened (TEST-1d)",
      details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "TEST-1d", message: "Something happened" }],
    });
    const ce = toConnectError(e);
    expect(ce.code).toBe(code as Code);
    expect(ce.rawMessage).toBe("Something happened (TEST-1d)");
    expect(ce.findDetails(ErrorDetailSchema)).toEqual([expect.objectContaining({ id: "TEST-1d", message: "Something happened" })]);
  });

  it("covers every kind", () => {
    expect(Object.keys(errorTable).sort()).toEqual(expected.map((e) => e[0]).sort());
  });

  it("plain statuses (validation, missing auth header) carry no details", () => {
    const e = new DomainError("InvalidArgument", "", "invalid AddMachineUserRequest.UserName: value length must be between 1 and 200 runes, inclusive");
    expect(JSON.parse(toRestError(e).body)).toEqual({ code: 3, message: e.message });
    expect(toConnectError(e).details).toEqual([]);
  });

  it("never leaks an unexpected error's text", () => {
    const e = toDomainError(new Error("connection to 10.0.0.1 refused: password authentication failed for user app"));
    expect(e).toMatchObject({ kind: "Internal", id: "RECOVER", message: "Errors.Internal" });
    expect(toDomainError(new ConnectError("x", Code.ResourceExhausted)).kind).toBe("ResourceExhausted");
  });
});
