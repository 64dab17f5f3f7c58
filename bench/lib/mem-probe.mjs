// Preloaded into the soak's server processes (`node --import bench/lib/mem-probe.mjs`): every 5 s
// it writes this process's memory to the file PORTCULLIS_MEM_PROBE names (replaced atomically), so
// the soak can tell RSS apart from what it is made of. Measurement only: it does not change the
// server, and it allocates a few hundred bytes per write.
//
//   rss, heapTotal, heapUsed, external, arrayBuffers: process.memoryUsage(), bytes;
//   liveAfterGc: the V8 heap in use right after the latest full (mark-compact) collection: the
//     objects that survived it, i.e. what a leak would make grow; heapUsed between collections also
//     counts garbage not yet collected;
//   majorGcs: full collections so far.
import { renameSync, writeFileSync } from "node:fs";
import { PerformanceObserver, constants } from "node:perf_hooks";

const file = process.env.PORTCULLIS_MEM_PROBE;
if (file) {
  let liveAfterGc = NaN;
  let majorGcs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      majorGcs++;
      // Read as soon as the entry is delivered: new objects since the collection are few next to
      // the old generation's size.
      liveAfterGc = process.memoryUsage().heapUsed;
    }
  }).observe({ entryTypes: ["gc"] });
  const write = () => {
    const m = process.memoryUsage();
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ ...m, liveAfterGc, majorGcs }));
    renameSync(tmp, file);
  };
  write();
  setInterval(write, 5000).unref();
}
