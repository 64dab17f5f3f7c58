import { getOption, hasOption, type DescField, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { openapiv2_operation, openapiv2_swagger } from "@zitadel/proto/protoc-gen-openapiv2/options/annotations_pb.js";
import { auth_option } from "@zitadel/proto/zitadel/options_pb.js";
import type { ServiceHandlers } from "../pipeline.js";
import { compileRoutes, type RestRoute } from "../rest/routes.js";
import { ANY_SCHEMA, SchemaRegistry, wellKnown, type Schema } from "./schemas.js";

export interface OpenApiSource {
  readonly service: DescService;
  /** Where the service's REST routes are mounted, e.g. `/management/v1`. */
  readonly prefix: string;
  /** What the routes are compiled under (default: prefix; "" when they carry their full path). */
  readonly routePrefix?: string;
  readonly handlers: ServiceHandlers;
}

/** `/management/v1` → `management.v1`: the document's name under /openapi/. */
export const openApiName = (prefix: string): string => prefix.replace(/^\/+|\/+$/g, "").replaceAll("/", ".");

const ORG_HEADER = "#/components/parameters/x-zitadel-orgid";
const STATUS = "#/components/schemas/google.rpc.Status";

/**
 * The OpenAPI 3.1 document of one REST-mapped service: one operation per route that the REST handler
 * compiles (rest/routes.ts compileRoutes, the very same function and descriptors, so the document and
 * the router cannot disagree), schemas in the transcoder's JSON mapping, the bearer scheme, and the
 * `x-zitadel-orgid` header on every authenticated operation.
 */
export function openApiDocument(src: OpenApiSource): Schema {
  const { service } = src;
  const schemas = new SchemaRegistry();
  const swagger = hasOption(service.file, openapiv2_swagger) ? getOption(service.file, openapiv2_swagger) : undefined;
  const paths: Record<string, Record<string, Schema>> = {};
  const operationIds = new Map<string, number>();
  const usedTags = new Set<string>();

  for (const route of compileRoutes(service, src.routePrefix ?? src.prefix).routes) {
    const verb = route.verb.toLowerCase();
    if (!HTTP_VERBS.has(verb)) throw new Error(`${route.template}: custom verb ${route.verb} has no OpenAPI operation`);
    const { path, wildcards } = openApiPath(route.template);
    const baseId = `${service.name}_${route.method.name}`;
    const n = (operationIds.get(baseId) ?? 0) + 1;
    operationIds.set(baseId, n);
    const op = operation(route, schemas, src.handlers, n === 1 ? baseId : `${baseId}_${n}`, wildcards);
    for (const t of op.tags as string[]) usedTags.add(t);
    (paths[path] ??= {})[verb] = op;
  }

  const components = schemas.complete();
  components["google.protobuf.Any"] = ANY_SCHEMA;
  components["google.rpc.Status"] = {
    type: "object",
    description: "The error body of every REST answer that is not 2xx (grpc-gateway's shape); details hold a zitadel.v1.ErrorDetail.",
    properties: {
      code: { type: "integer", format: "int32", description: "The gRPC status code." },
      message: { type: "string" },
      details: { type: "array", items: { $ref: "#/components/schemas/google.protobuf.Any" } },
    },
  };

  const info = swagger?.info;
  return {
    openapi: "3.1.0",
    info: {
      title: info?.title || service.name,
      version: info?.version || "v1",
      description: [info?.description, `\`${service.typeName}\` as Portcullis serves it over REST/JSON under \`${src.prefix}\`; the same methods answer over gRPC, gRPC-web and Connect (server reflection lists them). Methods Portcullis does not implement answer 501 / \`Unimplemented\` (\`x-portcullis-implemented: false\`).`]
        .filter(Boolean)
        .join("\n\n"),
      ...(info?.license?.name ? { license: { name: info.license.name, ...(info.license.url ? { url: info.license.url } : {}) } } : {}),
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    tags: tagList(swagger?.tags ?? [], usedTags),
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "An access token from /oauth/v2/token (client_credentials or jwt-bearer, opaque or JWT), or a personal access token.",
        },
      },
      parameters: {
        "x-zitadel-orgid": {
          name: "x-zitadel-orgid",
          in: "header",
          required: false,
          description: "The organization the call acts in; the default is the caller's own organization.",
          schema: { type: "string" },
        },
      },
      schemas: components,
    },
  };
}

const HTTP_VERBS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

function operation(route: RestRoute, schemas: SchemaRegistry, handlers: ServiceHandlers, operationId: string, wildcards: readonly string[]): Schema {
  const method = route.method;
  const annotation = hasOption(method, openapiv2_operation) ? getOption(method, openapiv2_operation) : undefined;
  const isPublic = getOption(method, auth_option).permission === "";
  const parameters: Schema[] = [
    ...route.variables.map((v) => pathParameter(v.name, v.fields, schemas, v.rest)),
    ...wildcards.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
    ...(route.body === "*" ? [] : queryParameters(route, schemas)),
    ...(isPublic ? [] : [{ $ref: ORG_HEADER }]),
  ];
  const op: Schema = {
    operationId,
    tags: annotation?.tags.length ? annotation.tags : [method.parent.name],
    ...(annotation?.summary ? { summary: annotation.summary } : { summary: method.name }),
    ...(annotation?.description ? { description: annotation.description } : {}),
    ...(annotation?.deprecated || method.deprecated ? { deprecated: true } : {}),
    ...(isPublic ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
  };
  const body = requestBody(route, schemas);
  // Not `required`: an empty body reads as an empty message (grpc-gateway treats io.EOF the same way).
  if (body) op.requestBody = { content: { "application/json": { schema: body } } };
  op.responses = {
    "200": { description: annotation?.responses["200"]?.description || "OK", content: { "application/json": { schema: responseSchema(route, schemas) } } },
    default: { description: "An error (google.rpc.Status).", content: { "application/json": { schema: { $ref: STATUS } } } },
  };
  op["x-grpc-method"] = `/${method.parent.typeName}/${method.name}`;
  op["x-portcullis-implemented"] = handlers[method.localName] !== undefined;
  return op;
}

/** `{name=**}` and `{name=*}` become `{name}`; anonymous `*` / `**` segments get names of their own. */
function openApiPath(template: string): { path: string; wildcards: string[] } {
  const wildcards: string[] = [];
  const path = template
    .split("/")
    .map((segment) => {
      const named = /^\{([^=}]+)(?:=\*\*?)?\}$/.exec(segment);
      if (named) return `{${named[1]}}`;
      if (segment === "*" || segment === "**") {
        const name = `wildcard${wildcards.length + 1}`;
        wildcards.push(name);
        return `{${name}}`;
      }
      return segment;
    })
    .join("/");
  return { path, wildcards };
}

function pathParameter(name: string, fields: readonly DescField[], schemas: SchemaRegistry, rest: boolean): Schema {
  const leaf = fields[fields.length - 1]!;
  const schema = schemas.field(leaf);
  const description = [schema.description, rest ? "The rest of the path: may contain `/`." : undefined].filter(Boolean).join(" ");
  delete schema.description;
  return { name, in: "path", required: true, ...(description ? { description } : {}), schema };
}

/** The body `*` minus path-bound fields, a named body field, or nothing for `body: ""`. */
function requestBody(route: RestRoute, schemas: SchemaRegistry): Schema | undefined {
  if (route.body === "") return undefined;
  if (route.bodyField) return schemas.field(route.bodyField);
  const inPath = new Set(route.variables.filter((v) => v.fields.length === 1).map((v) => v.fields[0]!));
  return inPath.size === 0 ? schemas.message(route.method.input) : schemas.messageWithout(route.method.input, inPath);
}

function responseSchema(route: RestRoute, schemas: SchemaRegistry): Schema {
  if (route.responseBody === "") return schemas.message(route.method.output);
  const field = route.method.output.fields.find((f) => f.name === route.responseBody);
  if (!field) throw new Error(`${route.template}: response_body "${route.responseBody}" names no field`);
  return schemas.field(field);
}

/**
 * Query parameters as the transcoder reads them (transcode.ts applyQuery): every field not bound by the
 * path or a named body, nested singular messages as dotted names, repeated scalars as repeated keys.
 * Well-known types with a text form (Timestamp, Duration, FieldMask, wrappers) are single parameters;
 * maps (`key[k]=v`) and repeated messages have no query form in grpc-gateway's generator and are left out.
 */
function queryParameters(route: RestRoute, schemas: SchemaRegistry): Schema[] {
  const excluded = new Set(route.variables.map((v) => v.fields.map((f) => f.number).join(".")));
  if (route.bodyField) excluded.add(String(route.bodyField.number));
  const out: Schema[] = [];
  const walk = (desc: DescMessage, names: string[], numbers: number[], stack: DescMessage[]) => {
    for (const field of desc.fields) {
      const key = [...numbers, field.number].join(".");
      if (excluded.has(key)) continue;
      const name = [...names, field.jsonName].join(".");
      const add = () => {
        const schema = schemas.field(field);
        const description = schema.description;
        delete schema.description;
        // Struct and Value are read as JSON text.
        const json = field.message && JSON_TEXT.has(field.message.typeName);
        out.push({ name, in: "query", required: false, ...(description ? { description } : {}), ...(json ? { content: { "application/json": { schema } } } : { schema }) });
      };
      switch (field.fieldKind) {
        case "scalar":
        case "enum":
          add();
          break;
        case "list":
          if (field.listKind !== "message" || hasQueryForm(field.message)) add();
          break;
        case "message":
          if (hasQueryForm(field.message)) add();
          else if (wellKnown(field.message)) break;
          else if (!stack.includes(field.message)) walk(field.message, [...names, field.jsonName], [...numbers, field.number], [...stack, field.message]);
          break;
        case "map":
          break;
      }
    }
  };
  walk(route.method.input, [], [], [route.method.input]);
  return out;
}

/** The message types transcode.ts parseQueryMessage reads from one query value. */
const JSON_TEXT = new Set(["google.protobuf.Struct", "google.protobuf.Value"]);
const TEXT_FORMS = new Set(["google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask", ...JSON_TEXT]);
const hasQueryForm = (desc: DescMessage) => isWrapperDesc(desc) || TEXT_FORMS.has(desc.typeName);

function tagList(declared: readonly { name: string; description: string }[], used: ReadonlySet<string>): Schema[] {
  const tags: Schema[] = declared.filter((t) => used.has(t.name)).map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}) }));
  for (const name of used) if (!declared.some((t) => t.name === name)) tags.push({ name });
  return tags;
}
