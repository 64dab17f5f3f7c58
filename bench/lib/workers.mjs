// `portcullis start --workers N` on PostgreSQL (BENCH_ONLY=workers): the client_credentials token
// request (opaque) against one worker and against two, on one database, each after all its workers
// are ready. CPU is sampled over the supervisor and every worker.
import { readFileSync } from "node:fs";
import { api, createDatabase, startPortcullis, tokenRequest } from "./portcullis.mjs";
import { measure, summary, waitQuiet } from "./runner.mjs";
import { log, removeTempDir, round, sleep, tempDir } from "./util.mjs";

const children = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/** Until /debug/metrics (merged over the workers) names `n` workers. */
async function allWorkersReady(base, n) {
  for (let i = 0; i < 600; i++) {
    const text = await (await fetch(`${base}/debug/metrics`)).text();
    const workers = new Set([...text.matchAll(/^portcullis_cluster_peers\{worker="(\d+)"\}/gm)].map((m) => m[1]));
    if (n === 1 || workers.size === n) return;
    await sleep(100);
  }
  throw new Error(`${n} workers did not all become ready`);
}

export async function workersSection({ counts = [1, 2], quietWaitMs = 15_000 } = {}) {
  const db = await createDatabase("workers");
  const out = {};
  try {
    let client;
    for (const n of counts) {
      const dataDir = tempDir(`workers-${n}`);
      const srv = await startPortcullis({ dataDir, databaseUrl: db.url, name: `portcullis-workers-${n}`, env: { PORTCULLIS_WORKERS: String(n) } });
      try {
        await allWorkersReady(srv.base, n);
        if (!client) {
          // The first start bootstrapped the database and wrote the PAT; later starts reuse both.
          const a = api(srv.base, srv.pat);
          client = await a.setSecret(await a.addMachine("bench-workers"));
        }
        // Every worker trusts its cache 3 s after joining the cluster.
        await sleep(3_500);
        await waitQuiet(quietWaitMs);
        const pids = [srv.pid, ...children(srv.pid)];
        const r = await measure(srv.base, tokenRequest(client.clientId, client.clientSecret), { serverPids: pids, dbName: db.name });
        log(`workers ${n}: ${summary(r)}`);
        out[n] = { rps: round(r.rps), p50: r.latencyMs.p50, p99: r.latencyMs.p99, serverCores: r.cpu?.server, serverUsPerRequest: r.cpu?.serverUsPerRequest, otherCores: r.cpu?.other, processes: pids.length };
      } finally {
        await srv.stop();
        removeTempDir(dataDir);
      }
    }
  } finally {
    await db.drop();
  }
  if (out[1] && out[2]) log(`workers: 2 vs 1 worker: ${out[2].rps} vs ${out[1].rps} req/s (${round(out[2].rps / out[1].rps, 2)}×)`);
  return out;
}
