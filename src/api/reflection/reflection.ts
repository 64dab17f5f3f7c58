import { create, toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { reflectionV1, reflectionV1alpha, type ReflectionProto } from "./reflection-proto.js";

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) for the services Portcullis serves, so that
 * grpcurl, grpcui, Postman or Kreya can list, describe and call them without .proto files. The answers
 * are the same protobuf-es descriptors the server routes with, serialised as FileDescriptorProto.
 *
 * Like ZITADEL (grpc-go's reflection.Register next to unary-only auth interceptors), reflection needs no
 * token: the descriptors are public anyway (@zitadel/proto), and it never reaches the request pipeline.
 * Semantics follow grpc-go's server: a file is sent with its transitive imports, imports already sent
 * on the same stream are left out, unknown names answer an ErrorResponse with NOT_FOUND.
 */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): void {
  const index = createDescriptorIndex(services);
  for (const proto of [reflectionV1, reflectionV1alpha]) {
    router.service(proto.service, { serverReflectionInfo: (requests: AsyncIterable<ReflectionRequest>) => answer(proto, index, requests) } as never);
  }
}

type ReflectionRequest = {
  host: string;
  messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
};

type MessageResponse =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

async function* answer(proto: ReflectionProto, index: DescriptorIndex, requests: AsyncIterable<ReflectionRequest>) {
  const sent = new Set<string>();
  for await (const request of requests) {
    const messageResponse = respond(index, request, sent);
    yield create(proto.response, { validHost: request.host, originalRequest: request as never, messageResponse } as never);
  }
}

const notFound = (errorMessage: string): MessageResponse => ({ case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage } });

function respond(index: DescriptorIndex, request: ReflectionRequest, sent: Set<string>): MessageResponse {
  const r = request.messageRequest;
  switch (r.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.serviceNames.map((name) => ({ name })) } };
    case "fileByFilename": {
      const file = index.files.get(r.value);
      return file ? files(index, file, sent) : notFound(`file "${r.value}" not found`);
    }
    case "fileContainingSymbol": {
      const file = index.symbols.get(r.value.replace(/^\./, ""));
      return file ? files(index, file, sent) : notFound(`symbol "${r.value}" not found`);
    }
    case "fileContainingExtension": {
      const file = index.extensions.get(r.value.containingType.replace(/^\./, ""))?.get(r.value.extensionNumber);
      return file ? files(index, file, sent) : notFound(`extension ${r.value.extensionNumber} of "${r.value.containingType}" not found`);
    }
    case "allExtensionNumbersOfType": {
      const typeName = r.value.replace(/^\./, "");
      if (!index.symbols.has(typeName)) return notFound(`type "${r.value}" not found`);
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: typeName, extensionNumber: [...(index.extensions.get(typeName)?.keys() ?? [])].sort((a, b) => a - b) } };
    }
    default:
      // grpc-go ends the stream with InvalidArgument for a request without a known message_request.
      throw new ConnectError("invalid MessageRequest: empty message_request", Code.InvalidArgument);
  }
}

/** The file, always, then its transitive imports that this stream has not sent yet (grpc-go's fileDescWithDependencies). */
function files(index: DescriptorIndex, file: DescFile, sent: Set<string>): MessageResponse {
  const out: Uint8Array[] = [];
  const queue = [file];
  const seen = new Set<string>();
  for (let f = queue.shift(); f; f = queue.shift()) {
    const name = f.proto.name;
    if (seen.has(name)) continue;
    seen.add(name);
    if (f === file || !sent.has(name)) {
      sent.add(name);
      out.push(index.encode(f));
    }
    queue.push(...f.dependencies);
  }
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
}

export interface DescriptorIndex {
  /** Full names of the services reflection lists: the served ones, then reflection's own. */
  readonly serviceNames: readonly string[];
  readonly files: ReadonlyMap<string, DescFile>;
  /** Fully-qualified element name (type, service, method, field, enum value, extension) → the file declaring it. */
  readonly symbols: ReadonlyMap<string, DescFile>;
  /** Extendee type name → extension number → the file declaring the extension. */
  readonly extensions: ReadonlyMap<string, ReadonlyMap<number, DescFile>>;
  /** The file's FileDescriptorProto, serialised once. */
  encode(file: DescFile): Uint8Array;
}

export function createDescriptorIndex(services: readonly DescService[]): DescriptorIndex {
  const reflectionServices = [reflectionV1.service, reflectionV1alpha.service];
  const files = new Map<string, DescFile>();
  const addFile = (file: DescFile): void => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    file.dependencies.forEach(addFile);
  };
  for (const s of [...services, ...reflectionServices]) addFile(s.file);

  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  for (const file of files.values()) {
    for (const desc of nestedTypes(file)) {
      symbols.set(desc.typeName, file);
      switch (desc.kind) {
        case "message":
          for (const f of desc.fields) symbols.set(`${desc.typeName}.${f.name}`, file);
          for (const o of desc.oneofs) symbols.set(`${desc.typeName}.${o.name}`, file);
          break;
        case "enum": {
          // Enum values are siblings of their enum in the protobuf namespace.
          const scope = desc.typeName.slice(0, desc.typeName.length - desc.name.length);
          for (const v of desc.values) symbols.set(scope + v.name, file);
          break;
        }
        case "service":
          for (const m of desc.methods) symbols.set(`${desc.typeName}.${m.name}`, file);
          break;
        case "extension": {
          let byNumber = extensions.get(desc.extendee.typeName);
          if (!byNumber) extensions.set(desc.extendee.typeName, (byNumber = new Map()));
          byNumber.set(desc.number, file);
          break;
        }
      }
    }
  }

  const encoded = new WeakMap<DescFile, Uint8Array>();
  return {
    serviceNames: [...new Set([...services, ...reflectionServices].map((s) => s.typeName))],
    files,
    symbols,
    extensions,
    encode(file) {
      let bytes = encoded.get(file);
      if (!bytes) encoded.set(file, (bytes = toBinary(FileDescriptorProtoSchema, file.proto)));
      return bytes;
    },
  };
}
