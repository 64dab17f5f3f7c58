import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureCluster, findTemplate, pgliteVersion } from "./pglite-cluster.js";

// ensureCluster's file handling, on a stand-in template (no PostgreSQL: the files are copied as
// they are). Starting PGlite on a real template is covered by every test that starts the server.
const tmpDirs: string[] = [];
const mkTmp = (prefix: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function fakeTemplate(version = pgliteVersion()): string {
  const t = mkTmp("portcullis-template-");
  fs.mkdirSync(path.join(t, "pgdata", "base", "1"), { recursive: true });
  fs.writeFileSync(path.join(t, "pgdata", "PG_VERSION"), "17\n");
  fs.writeFileSync(path.join(t, "pgdata", "base", "1", "1259"), Buffer.alloc(8192, 7));
  fs.writeFileSync(path.join(t, "pgdata", "postgresql.conf"), "# conf\n", { mode: 0o600 });
  fs.writeFileSync(path.join(t, "template.json"), JSON.stringify({ pgliteVersion: version, createdAt: new Date().toISOString() }));
  return t;
}

describe("ensureCluster (pglite-cluster.ts)", () => {
  it("copies the template into pgdata, through a temporary directory", async () => {
    const template = fakeTemplate();
    const root = mkTmp("portcullis-data-");
    expect(await ensureCluster(root, { templateDir: template })).toBe("template");
    expect(fs.readFileSync(path.join(root, "pgdata", "PG_VERSION"), "utf8")).toBe("17\n");
    expect(fs.readFileSync(path.join(root, "pgdata", "base", "1", "1259"))).toEqual(Buffer.alloc(8192, 7));
    expect(fs.statSync(path.join(root, "pgdata", "postgresql.conf")).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(root)).toEqual(["pgdata"]);
    // The template itself is not changed by what the copy goes through later.
    fs.writeFileSync(path.join(root, "pgdata", "base", "1", "1259"), "changed");
    expect(fs.readFileSync(path.join(template, "pgdata", "base", "1", "1259"))).toEqual(Buffer.alloc(8192, 7));
  });

  it("leaves an existing cluster alone", async () => {
    const template = fakeTemplate();
    const root = mkTmp("portcullis-data-");
    fs.mkdirSync(path.join(root, "pgdata"));
    fs.writeFileSync(path.join(root, "pgdata", "PG_VERSION"), "16\n");
    expect(await ensureCluster(root, { templateDir: template })).toBe("existing");
    expect(fs.readFileSync(path.join(root, "pgdata", "PG_VERSION"), "utf8")).toBe("16\n");
  });

  it("removes what an interrupted first start left, and an empty pgdata", async () => {
    const template = fakeTemplate();
    const root = mkTmp("portcullis-data-");
    fs.mkdirSync(path.join(root, "pgdata.new-1234-1", "base"), { recursive: true });
    fs.mkdirSync(path.join(root, "pgdata"));
    fs.writeFileSync(path.join(root, "admin.pat"), "kept");
    expect(await ensureCluster(root, { templateDir: template })).toBe("template");
    expect(fs.readdirSync(root).sort()).toEqual(["admin.pat", "pgdata"]);
  });

  it("moves a pgdata that holds files but no cluster aside, and says so", async () => {
    const template = fakeTemplate();
    const root = mkTmp("portcullis-data-");
    fs.mkdirSync(path.join(root, "pgdata", "base"), { recursive: true });
    fs.writeFileSync(path.join(root, "pgdata", "base", "x"), "partial");
    const warnings: string[] = [];
    expect(await ensureCluster(root, { templateDir: template, onWarning: (m) => warnings.push(m) })).toBe("template");
    const aside = fs.readdirSync(root).filter((n) => n.startsWith("pgdata.incomplete-"));
    expect(aside).toHaveLength(1);
    expect(fs.readFileSync(path.join(root, aside[0]!, "base", "x"), "utf8")).toBe("partial");
    expect(fs.existsSync(path.join(root, "pgdata", "PG_VERSION"))).toBe(true);
    expect(warnings).toEqual([expect.stringContaining(`moved it to ${path.join(root, aside[0]!)}`)]);
  });

  it("uses a template only when it was made by the PGlite this process runs", () => {
    expect(findTemplate(fakeTemplate())).toBeDefined();
    expect(findTemplate(fakeTemplate("0.0.1"))).toBeUndefined();
    expect(findTemplate(mkTmp("portcullis-empty-"))).toBeUndefined();
  });
});
