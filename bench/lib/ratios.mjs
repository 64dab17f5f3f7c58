// Ratio targets measured in A-B-A rounds, in one run: every series of a group (a Portcullis target,
// a reference) is measured round robin, each reference after the targets it is the reference of,
// and the targets once more at the end. A reference measured in round i is bracketed by its target's
// measurement just before it (round i) and just after it (round i + 1): the round's ratio is
// mean(A before, A after) / B, so drift on a shared machine hits both sides alike. A target's figure
// is the median of its rounds' ratios; the spread (min–max) says how much to trust it.
//
// A group: { name, series: [{ key, run: () => Promise<result>, kind?: "http" | "bound" }], pairs }
// where a result has `rps` (or a bound's operations/s) and, for HTTP, latencyMs, non2xx, errors, cpu.
import { log, round } from "./util.mjs";

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Every ratio target, its group, its A (target) and B (reference) series and its goal. A goal of
 * "within 5 % of" is a ratio ≥ 0.95. Targets whose group is not measured in a run are "not measured".
 */
export const RATIO_TARGETS = [
  { id: "opaque-vs-oidc-provider", group: "token", target: "opaque", reference: "oidc-provider", goal: 4, text: "client_credentials opaque ≥ 4× oidc-provider", profile: "pgliteOpaque" },
  { id: "opaque-vs-raw", group: "token", target: "opaque", reference: "raw-post", goal: 0.5, text: "client_credentials opaque ≥ 50 % of the raw ceiling (POST)", profile: "pgliteOpaque" },
  { id: "introspect-app-vs-raw", group: "token", target: "introspect-app", reference: "raw-post", goal: 0.4, text: "introspection by an API app (client_secret_basic) ≥ 40 % of the raw ceiling (POST)" },
  { id: "roles-vs-opaque", group: "token", target: "roles", reference: "opaque", goal: 0.8, text: "token with role claims (3 projects × 10 roles) ≥ 80 % of the plain opaque token" },
  { id: "ten-secrets-vs-one", group: "token", target: "ten-secrets", reference: "opaque", goal: 0.95, text: "a machine with 10 secrets (authenticating with its newest) within 5 % of one with 1" },
  { id: "last-use-on-vs-off", group: "token", target: "opaque", reference: "untracked", goal: 0.95, text: "last-use tracking on within 5 % of off (token endpoint)" },
  { id: "metrics-on-vs-off", group: "token", target: "opaque", reference: "metrics-off", goal: 0.97, text: "metrics on within 3 % of off (token endpoint)" },
  { id: "userinfo-vs-raw", group: "reads", target: "userinfo", reference: "raw-get", goal: 0.4, text: "/oidc/v1/userinfo with a PAT ≥ 40 % of the raw ceiling (GET)", profile: "pgliteUserinfo" },
  { id: "getuserbyid-vs-raw", group: "reads", target: "getuser", reference: "raw-get", goal: 0.4, text: "GetUserByID (REST) with a PAT ≥ 40 % of the raw ceiling (GET)", profile: "pgliteGetUser" },
  { id: "jwt-vs-signing", group: "jwt", target: "jwt", reference: "sign-rs256", goal: 0.85, text: "client_credentials JWT RS256 ≥ 85 % of the signing bound (node:crypto, 1 process)", profile: "pgliteJwt" },
  // Token exchange (federation, issue #16): ES256 subject tokens, a JWT (RS256) machine, an uploaded JWKS.
  { id: "token-exchange-vs-bound", group: "exchange", target: "token-exchange", reference: "verify-sign", goal: 0.6, text: "RFC 8693 token exchange (ES256 subject token → RS256 JWT) ≥ 60 % of its verify-and-sign bound (node:crypto, 1 process)", profile: "pgliteExchange" },
  { id: "pglite-writes-vs-insert", group: "pglite-writes", target: "cycles", reference: "insert-bound", goal: 0.5, text: "secret cycles on PGlite ≥ 50 % of the PGlite insert-transaction bound (writes/s vs tx/s)", profile: "pgliteWrites" },
  { id: "pg-writes-vs-insert", group: "pg-writes", target: "cycles", reference: "insert-bound", goal: 0.5, text: "secret cycles on PostgreSQL ≥ 50 % of the insert-transaction bound (writes/s vs tx/s)", profile: "pgWrites" },
];

/** Orders a group's series so that each reference comes after every target it is the reference of. */
function roundOrder(group) {
  const pairs = RATIO_TARGETS.filter((t) => t.group === group.name);
  const keys = group.series.map((s) => s.key);
  const order = [];
  const visit = (k, path = new Set()) => {
    if (order.includes(k)) return;
    if (path.has(k)) throw new Error(`ratio group ${group.name}: cycle at ${k}`);
    path.add(k);
    for (const p of pairs) if (p.reference === k && keys.includes(p.target)) visit(p.target, path);
    order.push(k);
  };
  for (const k of keys) visit(k);
  const targets = new Set(pairs.filter((p) => keys.includes(p.reference)).map((p) => p.target));
  return { order, closing: order.filter((k) => targets.has(k)) };
}

/**
 * Measures a group: `rounds` full rounds in reference-after-target order, then the targets once
 * more. Returns { name, sequence: [{ key, result }], rounds, seconds }.
 */
export async function measureGroup(group, rounds) {
  const t0 = performance.now();
  const { order, closing } = roundOrder(group);
  const byKey = new Map(group.series.map((s) => [s.key, s]));
  const sequence = [];
  const steps = [...Array.from({ length: rounds }, (_, i) => order.map((k) => [k, i + 1])).flat(), ...closing.map((k) => [k, rounds + 1])];
  for (const [k, i] of steps) {
    log(`${group.name} round ${i}${i > rounds ? " (closing)" : ""}/${rounds}: ${k} ...`);
    const result = await byKey.get(k).run(`${group.name}/${k} #${i}`);
    sequence.push({ key: k, round: i, result });
  }
  return { name: group.name, rounds, sequence, seconds: round((performance.now() - t0) / 1000, 1) };
}

const invalid = (r) => (r && (r.non2xx > 0 || r.errors > 0) ? `${r.non2xx} non-2xx, ${r.errors} errors` : undefined);

/** One ratio target from a measured group: the ratio of each round, their median and spread. */
export function ratioOf(def, group) {
  const seq = group?.sequence ?? [];
  const rounds = [];
  seq.forEach((m, i) => {
    // A reference measured in the closing round (it is also another pair's target) has no target after it.
    if (m.key !== def.reference || m.round > group.rounds) return;
    let before;
    let after;
    for (let j = i - 1; j >= 0 && !before; j--) if (seq[j].key === def.target) before = seq[j].result;
    for (let j = i + 1; j < seq.length && !after; j++) if (seq[j].key === def.target) after = seq[j].result;
    const sides = [before, after].filter(Boolean);
    if (!sides.length) return;
    const a = sides.reduce((s, r) => s + r.rps, 0) / sides.length;
    rounds.push({ target: a, reference: m.result.rps, ratio: a / m.result.rps, bracketed: sides.length === 2 });
  });
  const ofKey = (k) => seq.filter((m) => m.key === k).map((m) => m.result);
  const t = ofKey(def.target);
  const r = ofKey(def.reference);
  const ratios = rounds.map((x) => x.ratio);
  const lat = (xs, p) => median(xs.map((x) => x.latencyMs?.[p]));
  return {
    id: def.id,
    rounds: rounds.map((x) => ({ ...x, target: round(x.target), reference: round(x.reference), ratio: round(x.ratio, 4) })),
    median: median(ratios),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    target: { rps: median(t.map((x) => x.rps)), p50: lat(t, "p50"), p99: lat(t, "p99"), serverUsPerRequest: median(t.map((x) => x.cpu?.serverUsPerRequest)) },
    reference: { rps: median(r.map((x) => x.rps)), p50: lat(r, "p50"), p99: lat(r, "p99"), serverUsPerRequest: median(r.map((x) => x.cpu?.serverUsPerRequest)) },
    invalid: [...t, ...r].map(invalid).find(Boolean),
  };
}

/** Every ratio target of the run's measured groups (results.ratioGroups), as target rows. */
export function ratioTargets(res) {
  const groups = res.ratioGroups ?? {};
  const out = [];
  for (const def of RATIO_TARGETS) {
    const g = groups[def.group];
    const r = g ? ratioOf(def, g) : undefined;
    const base = { id: def.id, text: def.text, threshold: def.goal, profile: def.profile };
    if (!r || !r.rounds.length) {
      out.push({ ...base, met: undefined, status: g ? "not measured (a series missing)" : `not measured (group ${def.group} not in this run)` });
      continue;
    }
    const met = r.invalid ? false : r.median >= def.goal;
    const short = `${round((1 - r.median / def.goal) * 100)} % short`;
    out.push({
      ...base,
      value: r.median,
      spread: { min: r.min, max: r.max, n: r.rounds.length, bracketed: r.rounds.filter((x) => x.bracketed).length },
      met,
      status: r.invalid ? `invalid run (${r.invalid})` : met ? `MET by the median (${round(r.median / def.goal, 2)}× the goal)` : `MISSED by the median: ${short}`,
      measured: { rps: r.target.rps, p50: r.target.p50, p99: r.target.p99 },
      reference: { name: `${def.reference}, median of ${r.rounds.length}`, rps: r.reference.rps, p50: r.reference.p50 },
      rounds: r.rounds,
    });
  }
  // p99 at 50 connections, the median over the opaque token's measurements, with the bare server's
  // p99 under the same load in the same rounds beside it: the goal is absolute, but how far a machine
  // lets any node:http server get is what tells a slower machine from a slower Portcullis.
  const p99s = p99Medians(groups);
  if (p99s) {
    const { p99, xs, raw } = p99s;
    out.push({
      id: "opaque-p99",
      text: "client_credentials opaque p99 ≤ 10 ms at 50 connections (median of its measurements)",
      value: p99,
      threshold: 10,
      unit: "ms",
      spread: { min: Math.min(...xs), max: Math.max(...xs), n: xs.length },
      met: p99 <= 10,
      status: p99 <= 10 ? "MET by the median" : `MISSED by the median: ${round((p99 / 10 - 1) * 100)} % over`,
      ...(raw ? { reference: { name: `raw-post, median of ${raw.n}`, p99: raw.p99 }, relative: p99 / raw.p99 } : {}),
      profile: "pgliteOpaque",
    });
  }
  return out;
}

/**
 * The opaque token's p99 (median over its measurements, and each one) and the bare server's p99
 * (raw-post, median) in a run's token group; undefined when the opaque token was not measured.
 */
export function p99Medians(groups) {
  const of = (key) => (groups?.token?.sequence ?? []).filter((m) => m.key === key && Number.isFinite(m.result?.latencyMs?.p99)).map((m) => m.result.latencyMs.p99);
  const xs = of("opaque");
  if (!xs.length) return undefined;
  const raws = of("raw-post");
  return { p99: median(xs), xs, raw: raws.length ? { p99: median(raws), n: raws.length } : undefined };
}

/** A one-line-per-target table for a terminal. */
export function printRatioTable(rows, extra = () => "") {
  const w = Math.max(...rows.map((r) => r.id.length));
  const lines = [`${"target".padEnd(w)}  median   spread (min–max)   goal    status${extra() ? `  ${extra()}` : ""}`];
  for (const r of rows) {
    const f = (x) => (r.unit ? `${round(x, 2)} ${r.unit}` : round(x, 3).toFixed(3));
    const v = Number.isFinite(r.value) ? f(r.value) : "—";
    const sp = r.spread ? `${f(r.spread.min)}–${f(r.spread.max)} (${r.spread.n})` : "—";
    lines.push(`${r.id.padEnd(w)}  ${v.padEnd(7)}  ${sp.padEnd(18)} ${(r.unit ? `≤ ${r.threshold}` : `≥ ${r.threshold}`).padEnd(7)} ${r.met === true ? "MET   " : r.met === false ? "MISSED" : "—     "}${extra(r) ? `  ${extra(r)}` : ""}`);
  }
  return lines.join("\n");
}
