import { create, createFileRegistry, type DescFile, type DescMessage, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema, type DescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * grpc/reflection/v1/reflection.proto and its v1alpha twin (the same messages under another package,
 * grpc-proto's canonical files), built as descriptors at start-up instead of generated code: eight small
 * messages and one service, and the files are what reflection itself hands out when a client describes
 * grpc.reflection.v1.ServerReflection.
 */
export interface ReflectionProto {
  readonly file: DescFile;
  readonly service: DescService;
  readonly request: DescMessage;
  readonly response: DescMessage;
}

const { STRING: TYPE_STRING, INT32: TYPE_INT32, BYTES: TYPE_BYTES, MESSAGE: TYPE_MESSAGE } = FieldDescriptorProto_Type;
const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;

type FieldSpec = [name: string, number: number, type: FieldDescriptorProto_Type, opts?: { repeated?: boolean; typeName?: string; oneof?: number }];

function message(pkg: string, name: string, fields: FieldSpec[], oneofs: string[] = []): MessageInitShape<typeof DescriptorProtoSchema> {
  return {
    name,
    field: fields.map(([fieldName, number, type, opts]) => ({
      name: fieldName,
      number,
      type,
      label: opts?.repeated ? REPEATED : OPTIONAL,
      jsonName: fieldName.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      ...(opts?.typeName ? { typeName: `.${pkg}.${opts.typeName}` } : {}),
      ...(opts?.oneof !== undefined ? { oneofIndex: opts.oneof } : {}),
    })),
    oneofDecl: oneofs.map((o) => ({ name: o })),
  };
}

function reflectionFile(version: "v1" | "v1alpha"): ReflectionProto {
  const pkg = `grpc.reflection.${version}`;
  const proto = create(FileDescriptorProtoSchema, {
    name: `grpc/reflection/${version}/reflection.proto`,
    package: pkg,
    syntax: "proto3",
    messageType: [
      message(
        pkg,
        "ServerReflectionRequest",
        [
          ["host", 1, TYPE_STRING],
          ["file_by_filename", 3, TYPE_STRING, { oneof: 0 }],
          ["file_containing_symbol", 4, TYPE_STRING, { oneof: 0 }],
          ["file_containing_extension", 5, TYPE_MESSAGE, { oneof: 0, typeName: "ExtensionRequest" }],
          ["all_extension_numbers_of_type", 6, TYPE_STRING, { oneof: 0 }],
          ["list_services", 7, TYPE_STRING, { oneof: 0 }],
        ],
        ["message_request"],
      ),
      message(pkg, "ExtensionRequest", [
        ["containing_type", 1, TYPE_STRING],
        ["extension_number", 2, TYPE_INT32],
      ]),
      message(
        pkg,
        "ServerReflectionResponse",
        [
          ["valid_host", 1, TYPE_STRING],
          ["original_request", 2, TYPE_MESSAGE, { typeName: "ServerReflectionRequest" }],
          ["file_descriptor_response", 4, TYPE_MESSAGE, { oneof: 0, typeName: "FileDescriptorResponse" }],
          ["all_extension_numbers_response", 5, TYPE_MESSAGE, { oneof: 0, typeName: "ExtensionNumberResponse" }],
          ["list_services_response", 6, TYPE_MESSAGE, { oneof: 0, typeName: "ListServiceResponse" }],
          ["error_response", 7, TYPE_MESSAGE, { oneof: 0, typeName: "ErrorResponse" }],
        ],
        ["message_response"],
      ),
      message(pkg, "FileDescriptorResponse", [["file_descriptor_proto", 1, TYPE_BYTES, { repeated: true }]]),
      message(pkg, "ExtensionNumberResponse", [
        ["base_type_name", 1, TYPE_STRING],
        ["extension_number", 2, TYPE_INT32, { repeated: true }],
      ]),
      message(pkg, "ListServiceResponse", [["service", 1, TYPE_MESSAGE, { repeated: true, typeName: "ServiceResponse" }]]),
      message(pkg, "ServiceResponse", [["name", 1, TYPE_STRING]]),
      message(pkg, "ErrorResponse", [
        ["error_code", 1, TYPE_INT32],
        ["error_message", 2, TYPE_STRING],
      ]),
    ],
    service: [
      {
        name: "ServerReflection",
        method: [
          {
            name: "ServerReflectionInfo",
            inputType: `.${pkg}.ServerReflectionRequest`,
            outputType: `.${pkg}.ServerReflectionResponse`,
            clientStreaming: true,
            serverStreaming: true,
          },
        ],
      },
    ],
    options: { goPackage: version === "v1" ? "google.golang.org/grpc/reflection/grpc_reflection_v1" : "google.golang.org/grpc/reflection/grpc_reflection_v1alpha" },
  });
  const registry = createFileRegistry(proto, () => undefined);
  const get = (name: string) => registry.getMessage(`${pkg}.${name}`) ?? missing(name);
  return {
    file: registry.getFile(proto.name) ?? missing(proto.name),
    service: registry.getService(`${pkg}.ServerReflection`) ?? missing("ServerReflection"),
    request: get("ServerReflectionRequest"),
    response: get("ServerReflectionResponse"),
  };
}

function missing(name: string): never {
  throw new Error(`reflection descriptor: ${name} missing`);
}

export const reflectionV1 = reflectionFile("v1");
export const reflectionV1alpha = reflectionFile("v1alpha");
