// Restarts of one data directory, for working on the start path (not the benchmark of record: that
// is `BENCH_ONLY=footprint npm run bench`).
//
//   npm run build && node bench/restarts.mjs [count]      # BENCH_DIST=<other dist/> to compare builds
//
// Starts Portcullis once on a fresh PGlite directory (first start), then `count` times again on the
// same directory, and prints for each: spawn → first 200 from /debug/ready, the CPU the process used
// until then, and how long after ready the first API request (GetMyOrg; the API services load on
// first use) was answered.
import { startPortcullis } from "./lib/portcullis.mjs";
import { cleanupAll, procCpuTimes, tempDir } from "./lib/util.mjs";

const count = Number(process.argv[2] ?? 3);
const dir = tempDir("restarts");
try {
  let s = await startPortcullis({ dataDir: dir });
  console.log(`first start: ready ${Math.round(s.readyMs)} ms`);
  await s.stop();
  for (let i = 0; i < count; i++) {
    s = await startPortcullis({ dataDir: dir });
    const cpu = procCpuTimes(s.pid);
    const t = performance.now();
    const r = await fetch(`${s.base}/management/v1/orgs/me`, { headers: { authorization: `Bearer ${s.pat}` } });
    await r.text();
    console.log(
      `restart: ready ${Math.round(s.readyMs)} ms, CPU until ready ${Math.round((cpu.user + cpu.sys) * 1000)} ms, first API answer (${r.status}) ${Math.round(performance.now() - t)} ms after ready`,
    );
    await s.stop();
  }
} finally {
  await cleanupAll();
}
