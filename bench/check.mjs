// `npm run bench:check`: a short run of the ratio targets (A-B-A rounds, as `npm run bench`) that
// exits 1 when a target's median falls more than 15 % below its recorded figure: the value of that
// target in bench/results/latest.json, which the recorded full run (`npm run bench`) writes. Not part
// of `npm test`; run it on a quiet machine before landing a change on a hot path.
//
//   npm run bench:check                      # about 5 minutes on a quiet machine
//   CHECK_GROUPS=token,reads npm run bench:check
//
// Environment: BENCH_DURATION (default 3) and BENCH_WARMUP (default 1) seconds per measurement,
// BENCH_ROUNDS (default 3), CHECK_GROUPS (token,reads,jwt,exchange,pglite-writes; add pg-writes for
// PostgreSQL, side for the last-use and metrics servers), CHECK_TOLERANCE (default 0.15).
import { existsSync, readFileSync } from "node:fs";
import { api, createDatabase, startPortcullis } from "./lib/portcullis.mjs";
import { RESULTS_FILE } from "./lib/report.mjs";
import { measure, settings, summary, waitQuiet } from "./lib/runner.mjs";
import { measureGroup, p99Medians, printRatioTable, ratioTargets } from "./lib/ratios.mjs";
import { exchangeGroup, jwtGroup, pgliteWritesGroup, pgWritesGroup, readsGroup, setupMain, tokenGroup } from "./lib/ratio-groups.mjs";
import { cleanupAll, log, round, tempDir } from "./lib/util.mjs";

const env = process.env;
settings.duration = Number(env.BENCH_DURATION ?? 3);
settings.warmup = Number(env.BENCH_WARMUP ?? 1);
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 3));
const TOLERANCE = Number(env.CHECK_TOLERANCE ?? 0.15);
const GROUPS = new Set((env.CHECK_GROUPS ?? "token,reads,jwt,exchange,pglite-writes").split(",").map((s) => s.trim()));

/**
 * The recorded figure of each target: its value in the last recorded full run. The p99 also keeps
 * its multiple of the bare server's p99 in that run (from its token group, for runs recorded before
 * the report carried it), so that a slower machine is not taken for a regression.
 */
function recorded() {
  if (!existsSync(RESULTS_FILE)) return {};
  const r = JSON.parse(readFileSync(RESULTS_FILE, "utf8"));
  const p99 = p99Medians(r.ratioGroups);
  const relative = p99?.raw ? p99.p99 / p99.raw.p99 : undefined;
  return Object.fromEntries(
    (r.targets ?? [])
      .filter((t) => Number.isFinite(t.value))
      .map((t) => [t.id, { value: t.value, relative: t.id === "opaque-p99" ? relative : undefined, date: r.meta?.date, commit: r.meta?.code?.commit }]),
  );
}

async function record(label, base, request, opts) {
  await waitQuiet(2000);
  const r = await measure(base, request, opts);
  log(`  ${label}: ${summary(r)}`);
  return r;
}

async function main() {
  const t0 = performance.now();
  log(`bench:check: ${ROUNDS} A-B-A rounds, ${settings.duration} s per measurement after ${settings.warmup} s warm-up; groups ${[...GROUPS].join(", ")}`);
  const res = { ratioGroups: {} };
  const group = async (def) => (res.ratioGroups[def.name] = await measureGroup(def, ROUNDS));
  const ctx = await setupMain({ writeUsers: 100 });
  try {
    if (GROUPS.has("token")) await tokenGroup(ctx, record, group, { full: GROUPS.has("side") });
    if (GROUPS.has("reads")) await readsGroup(ctx, record, group);
    if (GROUPS.has("jwt")) await jwtGroup(ctx, record, group);
    if (GROUPS.has("exchange")) await exchangeGroup(ctx, record, group);
    if (GROUPS.has("pglite-writes")) await pgliteWritesGroup(ctx, record, group);
  } finally {
    await ctx.srv.stop();
  }
  if (GROUPS.has("pg-writes")) {
    const db = await createDatabase("check");
    try {
      const srv = await startPortcullis({ dataDir: tempDir("check-pg"), databaseUrl: db.url, name: "portcullis-check-pg" });
      const a = api(srv.base, srv.pat);
      const users = [];
      for (let i = 0; i < 100; i++) users.push(await a.addMachine(`check-write-${i}`));
      await pgWritesGroup({ srv, db, cycle: { kind: "cycle", headers: { authorization: `Bearer ${srv.pat}`, "content-type": "application/json" }, users } }, record, group);
      await srv.stop();
    } finally {
      await db.drop();
    }
  }
  const rec = recorded();
  const rows = ratioTargets(res).filter((t) => Number.isFinite(t.value));
  const verdict = (t) => {
    const r = rec[t.id];
    if (!r) return { text: "no recorded figure", bad: false };
    // A latency is compared as a multiple of the bare server's latency in the same run when both runs
    // have it: an absolute p99 moves with the machine as much as with the code.
    if (t.unit && Number.isFinite(r.relative) && Number.isFinite(t.relative)) {
      const change = r.relative / t.relative - 1;
      const bad = change < -TOLERANCE;
      const abs = `${round(r.value, 2)} → ${round(t.value, 2)} ${t.unit}`;
      return { text: `recorded ${round(r.relative, 2)}× raw-post's p99 → ${round(t.relative, 2)}× (${change >= 0 ? "+" : ""}${round(change * 100, 1)} %; ${abs})${bad ? `  REGRESSION (more than ${TOLERANCE * 100} % worse)` : ""}`, bad };
    }
    // Lower is better for a latency (unit ms); higher for a ratio.
    const change = t.unit ? r.value / t.value - 1 : t.value / r.value - 1;
    const bad = change < -TOLERANCE;
    return { text: `recorded ${round(r.value, 3)}${t.unit ? ` ${t.unit}` : ""} → ${change >= 0 ? "+" : ""}${round(change * 100, 1)} %${bad ? `  REGRESSION (more than ${TOLERANCE * 100} % worse)` : ""}`, bad };
  };
  const table = printRatioTable(rows, (t) => (t ? verdict(t).text : "against the recorded figure"));
  const seconds = round((performance.now() - t0) / 1000, 1);
  const any = Object.values(rec)[0];
  process.stdout.write(`\n${table}\n\nRecorded figures: ${RESULTS_FILE}${any ? ` (run of ${any.date}, commit ${any.commit})` : " (none yet: run npm run bench)"}. Took ${seconds} s.\n`);
  const regressions = rows.filter((t) => verdict(t).bad);
  if (regressions.length) {
    process.stdout.write(`bench:check FAILED: ${regressions.map((t) => t.id).join(", ")} fell more than ${TOLERANCE * 100} % below the recorded figure\n`);
    process.exitCode = 1;
  } else process.stdout.write(`bench:check passed: no median more than ${TOLERANCE * 100} % below its recorded figure\n`);
}

main()
  .catch((e) => {
    process.stderr.write(`bench:check failed to run: ${e?.stack ?? e}\n`);
    process.exitCode = 2;
  })
  .finally(() => cleanupAll());
