import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config/load.js";
import { createLogger, startRuntime, type Runtime } from "../../src/server/runtime.js";
import { startServer, type RunningServer } from "../../src/server/http.js";
import { createTestDatabase } from "./pg.js";
import type { Tracing } from "../../src/telemetry/tracing.js";

export type Storage = "pglite" | "postgres";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestServer {
  url: string;
  port: number;
  /** The bootstrap admin's PAT (IAM_OWNER + ORG_OWNER of the first org). */
  pat: string;
  dataDir: string;
  databaseUrl?: string;
  rt: Runtime;
  server: RunningServer;
  env: Record<string, string>;
  /** Stop the server, keep the data. */
  stop(): Promise<void>;
  /** Stop and delete the data. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  storage?: Storage;
  env?: Record<string, string>;
  /** Reuse a data directory / database of an earlier server. */
  dataDir?: string;
  databaseUrl?: string;
  clock?: () => Date;
  /** Tracing instead of what the OTEL_* variables ask for (an in-memory exporter). */
  tracing?: Tracing;
}

/** A real Portcullis (runtime + server) on a free port on 127.0.0.1. */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "portcullis-test-"));
  let databaseUrl = opts.databaseUrl;
  let drop: (() => Promise<void>) | undefined;
  if (!databaseUrl && opts.storage === "postgres") {
    const db = await createTestDatabase();
    databaseUrl = db.url;
    drop = db.drop;
  }
  const port = await freePort();
  const env: Record<string, string> = {
    PORTCULLIS_PORT: String(port),
    PORTCULLIS_HOST: "127.0.0.1",
    PORTCULLIS_EXTERNAL_URL: `http://127.0.0.1:${port}`,
    PORTCULLIS_DATA_DIR: dataDir,
    PORTCULLIS_LOG_LEVEL: "silent",
    ...(databaseUrl ? { PORTCULLIS_DATABASE_URL: databaseUrl } : {}),
    ...opts.env,
  };
  const config = loadConfig({ env });
  const log = createLogger(config);
  const rt = await startRuntime(config, log, opts.clock, { tracing: opts.tracing });
  const server = await startServer(rt.deps, log, () => rt.sql.ping());
  const patFile = config.firstInstance.patPath;
  const pat = readFileSync(patFile, "utf8").trim();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.close();
    await rt.close();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pat,
    dataDir,
    databaseUrl,
    rt,
    server,
    env,
    stop,
    async close() {
      await stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (drop) await drop();
    },
  };
}
