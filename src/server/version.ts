import { readFileSync } from "node:fs";

/** The package's version (package.json two levels up from src/server and from dist/server), "unknown" if unreadable. */
export const PORTCULLIS_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
})();
