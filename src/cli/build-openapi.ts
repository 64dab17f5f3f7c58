/**
 * `npm run build` runs this after tsc: writes the OpenAPI 3.1 documents of every REST-mapped service to
 * dist/openapi/ (index.json lists them), from the same descriptors and route compiler the server uses.
 * The server serves the very same documents under /openapi/; these files are for publishing and diffing.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openApiFiles } from "../api/openapi/handler.js";
import { apiServices } from "../api/services/catalog.js";

const out = fileURLToPath(new URL("../openapi/", import.meta.url));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const [name, text] of openApiFiles(apiServices)) writeFileSync(out + name, text);
