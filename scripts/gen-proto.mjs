// Compiles Portcullis's own .proto files (proto/portcullis/**) into protobuf-es v2 descriptor modules
// (src/api/proto/portcullis/**/*_pb.ts) of the shape protoc-gen-es writes: the serialized
// FileDescriptorProto embedded with fileDesc(), and messageDesc/enumDesc/serviceDesc exports.
//
// Why not buf + protoc-gen-es: they are not among the project's npm packages (and must not be
// downloaded at build time). This covers the subset the files use — proto3 messages with scalar,
// message and enum fields (optional, repeated), enums, one service whose methods carry
// google.api.http and zitadel.v1.auth_option — and fails loudly on anything else. Once
// @bufbuild/buf and @bufbuild/protoc-gen-es are dependencies, `buf generate` with
// target=ts,import_extension=js replaces it file for file (same paths, same export names).
//
//   node scripts/gen-proto.mjs          writes the modules (run by scripts/build.mjs when a .proto changed)
//   node scripts/gen-proto.mjs --check  exits 1 when a committed module is out of date
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { create, setExtension, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, MethodOptionsSchema } from "@bufbuild/protobuf/wkt";
import { http } from "@zitadel/proto/google/api/annotations_pb.js";
import { HttpRuleSchema } from "@zitadel/proto/google/api/http_pb.js";
import { AuthOptionSchema, auth_option } from "@zitadel/proto/zitadel/options_pb.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const protoRoot = path.join(root, "proto");
const outRoot = path.join(root, "src", "api", "proto");

/** Imports this generator knows, with the module and export of their descriptor. */
const KNOWN_IMPORTS = {
  "google/api/annotations.proto": { module: "@zitadel/proto/google/api/annotations_pb.js", name: "file_google_api_annotations" },
  "google/protobuf/duration.proto": { module: "@bufbuild/protobuf/wkt", name: "file_google_protobuf_duration" },
  "google/protobuf/timestamp.proto": { module: "@bufbuild/protobuf/wkt", name: "file_google_protobuf_timestamp" },
  "zitadel/object.proto": { module: "@zitadel/proto/zitadel/object_pb.js", name: "file_zitadel_object" },
  "zitadel/options.proto": { module: "@zitadel/proto/zitadel/options_pb.js", name: "file_zitadel_options" },
};
/** Fully qualified names of the message types the imports provide. */
const IMPORTED_TYPES = {
  "google.protobuf.Timestamp": "message",
  "google.protobuf.Duration": "message",
  "zitadel.v1.ObjectDetails": "message",
  "zitadel.v1.ListQuery": "message",
  "zitadel.v1.ListDetails": "message",
};
const SCALARS = { double: 1, float: 2, int64: 3, uint64: 4, int32: 5, bool: 8, string: 9, bytes: 12, uint32: 13, sint32: 17, sint64: 18 };
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;

function tokenize(src) {
  const text = src.replace(/\/\/[^\n]*/g, "").replace(/\/\*[\s\S]*?\*\//g, "");
  return text.match(/"(?:[^"\\]|\\.)*"|[A-Za-z_][\w.]*|\d+|[{}()[\];=,:<>.]/g) ?? [];
}

function parse(src, file) {
  const t = tokenize(src);
  let i = 0;
  const peek = () => t[i];
  const next = () => {
    if (i >= t.length) throw new Error(`${file}: unexpected end`);
    return t[i++];
  };
  const expect = (v) => {
    const got = next();
    if (got !== v) throw new Error(`${file}: expected ${v}, got ${got}`);
  };
  const str = () => JSON.parse(next());
  const out = { package: "", imports: [], messages: [], enums: [], services: [] };
  while (i < t.length) {
    const kw = next();
    if (kw === "syntax") {
      expect("=");
      if (str() !== "proto3") throw new Error(`${file}: only proto3`);
      expect(";");
    } else if (kw === "package") {
      out.package = next();
      expect(";");
    } else if (kw === "import") {
      out.imports.push(str());
      expect(";");
    } else if (kw === "message") {
      const m = { name: next(), fields: [] };
      expect("{");
      while (peek() !== "}") {
        let label = "";
        if (peek() === "optional" || peek() === "repeated") label = next();
        const type = next();
        const name = next();
        expect("=");
        const number = Number(next());
        expect(";");
        m.fields.push({ label, type, name, number });
      }
      expect("}");
      out.messages.push(m);
    } else if (kw === "enum") {
      const e = { name: next(), values: [] };
      expect("{");
      while (peek() !== "}") {
        const name = next();
        expect("=");
        e.values.push({ name, number: Number(next()) });
        expect(";");
      }
      expect("}");
      out.enums.push(e);
    } else if (kw === "service") {
      const s = { name: next(), methods: [] };
      expect("{");
      while (peek() !== "}") {
        expect("rpc");
        const m = { name: next(), http: undefined, permission: undefined };
        expect("(");
        m.input = next();
        expect(")");
        expect("returns");
        expect("(");
        m.output = next();
        expect(")");
        expect("{");
        while (peek() !== "}") {
          expect("option");
          expect("(");
          const opt = next();
          expect(")");
          expect("=");
          expect("{");
          const fields = {};
          while (peek() !== "}") {
            const k = next();
            expect(":");
            fields[k] = str();
          }
          expect("}");
          expect(";");
          if (opt === "google.api.http") m.http = fields;
          else if (opt === "zitadel.v1.auth_option") m.permission = fields.permission;
          else throw new Error(`${file}: unknown option ${opt}`);
        }
        expect("}");
        s.methods.push(m);
      }
      expect("}");
      out.services.push(s);
    } else throw new Error(`${file}: unexpected ${kw}`);
  }
  return out;
}

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

function descriptor(p, name) {
  const local = new Map([...p.messages.map((m) => [m.name, "message"]), ...p.enums.map((e) => [e.name, "enum"])]);
  const fieldType = (type, where) => {
    if (type in SCALARS) return { type: SCALARS[type] };
    if (local.has(type)) return { type: local.get(type) === "enum" ? TYPE_ENUM : TYPE_MESSAGE, typeName: `.${p.package}.${type}` };
    if (IMPORTED_TYPES[type]) return { type: TYPE_MESSAGE, typeName: `.${type}` };
    throw new Error(`${name}: unknown type ${type} in ${where}`);
  };
  for (const imp of p.imports) if (!KNOWN_IMPORTS[imp]) throw new Error(`${name}: unknown import ${imp}`);
  return create(FileDescriptorProtoSchema, {
    name,
    package: p.package,
    dependency: p.imports,
    syntax: "proto3",
    messageType: p.messages.map((m) => {
      const oneofs = [];
      const field = m.fields.map((f) => {
        const d = {
          name: f.name,
          number: f.number,
          label: f.label === "repeated" ? 3 : 1,
          jsonName: camel(f.name),
          ...fieldType(f.type, m.name),
        };
        if (f.label === "optional") {
          d.proto3Optional = true;
          d.oneofIndex = oneofs.length;
          oneofs.push({ name: `_${f.name}` });
        }
        return d;
      });
      return { name: m.name, field, oneofDecl: oneofs };
    }),
    enumType: p.enums.map((e) => ({ name: e.name, value: e.values })),
    service: p.services.map((s) => ({
      name: s.name,
      method: s.methods.map((m) => {
        const options = create(MethodOptionsSchema);
        if (m.http) {
          const verb = ["get", "put", "post", "delete", "patch"].find((v) => m.http[v] !== undefined);
          if (!verb) throw new Error(`${name}: ${m.name}: http option without a verb`);
          setExtension(options, http, create(HttpRuleSchema, { pattern: { case: verb, value: m.http[verb] }, body: m.http.body ?? "" }));
        }
        if (m.permission !== undefined) setExtension(options, auth_option, create(AuthOptionSchema, { permission: m.permission }));
        const qualify = (t) => (local.has(t) ? `.${p.package}.${t}` : `.${t}`);
        return { name: m.name, inputType: qualify(m.input), outputType: qualify(m.output), options };
      }),
    })),
  });
}

function moduleText(p, name) {
  const fd = descriptor(p, name);
  const b64 = Buffer.from(toBinary(FileDescriptorProtoSchema, fd)).toString("base64").replace(/=+$/, "");
  const fileVar = `file_${name.replace(/\.proto$/, "").replace(/[/.]/g, "_")}`;
  const importsByModule = new Map();
  for (const imp of p.imports) {
    const k = KNOWN_IMPORTS[imp];
    importsByModule.set(k.module, [...(importsByModule.get(k.module) ?? []), k.name]);
  }
  const lines = [
    `// @generated by scripts/gen-proto.mjs from ${name} (package ${p.package}, syntax proto3): do not edit.`,
    "",
    `import type { GenEnum, GenFile, GenMessage, GenService } from "@bufbuild/protobuf/codegenv1";`,
    `import { enumDesc, fileDesc, messageDesc, serviceDesc } from "@bufbuild/protobuf/codegenv1";`,
    `import type { Message } from "@bufbuild/protobuf";`,
    ...[...importsByModule].map(([mod, names]) => `import { ${[...new Set(names)].sort().join(", ")} } from "${mod}";`),
    "",
    `export const ${fileVar}: GenFile = /*@__PURE__*/`,
    `  fileDesc("${b64}", [${p.imports.map((imp) => KNOWN_IMPORTS[imp].name).join(", ")}]);`,
  ];
  const TS_SCALAR = { double: "number", float: "number", int32: "number", uint32: "number", sint32: "number", int64: "bigint", uint64: "bigint", sint64: "bigint", bool: "boolean", string: "string", bytes: "Uint8Array" };
  const IMPORTED_TS = {
    "google.protobuf.Timestamp": ["Timestamp", "@bufbuild/protobuf/wkt"],
    "google.protobuf.Duration": ["Duration", "@bufbuild/protobuf/wkt"],
    "zitadel.v1.ObjectDetails": ["ObjectDetails", "@zitadel/proto/zitadel/object_pb.js"],
    "zitadel.v1.ListQuery": ["ListQuery", "@zitadel/proto/zitadel/object_pb.js"],
    "zitadel.v1.ListDetails": ["ListDetails", "@zitadel/proto/zitadel/object_pb.js"],
  };
  const typeImports = new Map();
  const tsType = (f) => {
    let t;
    let message = false;
    if (TS_SCALAR[f.type]) t = TS_SCALAR[f.type];
    else if (IMPORTED_TS[f.type]) {
      const [n, mod] = IMPORTED_TS[f.type];
      typeImports.set(mod, new Set([...(typeImports.get(mod) ?? []), n]));
      t = n;
      message = true;
    } else {
      t = f.type;
      message = p.messages.some((m) => m.name === f.type);
    }
    if (f.label === "repeated") return `${t}[]`;
    return message || f.label === "optional" ? `${t} | undefined` : t;
  };
  p.messages.forEach((m, idx) => {
    lines.push("", `export type ${m.name} = Message<"${p.package}.${m.name}"> & {`);
    for (const f of m.fields) lines.push(`  ${camel(f.name)}${f.label === "optional" ? "?" : ""}: ${tsType(f)};`);
    lines.push("};");
    lines.push(`export const ${m.name}Schema: GenMessage<${m.name}> = /*@__PURE__*/ messageDesc(${fileVar}, ${idx});`);
  });
  p.enums.forEach((e, idx) => {
    lines.push("", `export enum ${e.name} {`, ...e.values.map((v) => `  ${v.name.replace(new RegExp(`^${e.name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}_`), "")} = ${v.number},`), "}");
    lines.push(`export const ${e.name}Schema: GenEnum<${e.name}> = /*@__PURE__*/ enumDesc(${fileVar}, ${idx});`);
  });
  p.services.forEach((s, idx) => {
    lines.push("", `export const ${s.name}: GenService<{`);
    for (const m of s.methods)
      lines.push(`  ${m.name[0].toLowerCase() + m.name.slice(1)}: { methodKind: "unary"; input: typeof ${m.input}Schema; output: typeof ${m.output}Schema };`);
    lines.push(`}> = /*@__PURE__*/ serviceDesc(${fileVar}, ${idx});`);
  });
  const at = lines.findIndex((l) => l.startsWith("import type { Message }"));
  lines.splice(at + 1, 0, ...[...typeImports].map(([mod, names]) => `import type { ${[...names].sort().join(", ")} } from "${mod}";`));
  return lines.join("\n") + "\n";
}

function protoFiles(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) protoFiles(p, out);
    else if (e.name.endsWith(".proto")) out.push(p);
  }
  return out;
}

const check = process.argv.includes("--check");
let stale = 0;
for (const file of protoFiles(protoRoot)) {
  const name = path.relative(protoRoot, file).split(path.sep).join("/");
  const text = moduleText(parse(readFileSync(file, "utf8"), name), name);
  const target = path.join(outRoot, name.replace(/\.proto$/, "_pb.ts"));
  const current = existsSync(target) ? readFileSync(target, "utf8") : undefined;
  if (current === text) continue;
  if (check) {
    process.stderr.write(`gen-proto: ${path.relative(root, target)} is out of date (run node scripts/gen-proto.mjs)\n`);
    stale++;
    continue;
  }
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, text);
  process.stderr.write(`gen-proto: wrote ${path.relative(root, target)}\n`);
}
process.exit(stale ? 1 : 0);
