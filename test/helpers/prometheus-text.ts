/**
 * A strict parser of Prometheus's text exposition format 0.0.4, for tests: it throws on anything the
 * format does not allow (bad names, label syntax or escapes, values, a sample before its TYPE, a
 * family split in two, a series twice, histogram buckets that are not cumulative or lack +Inf).
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface ParsedFamily {
  name: string;
  type: string;
  help?: string;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(s: string, line: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`bad value ${JSON.stringify(s)} in: ${line}`);
  return Number(s);
}

function parseLabels(s: string, line: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let rest = s.slice(1);
  for (;;) {
    if (rest.startsWith("}")) return [labels, rest.slice(1)];
    const m = LABEL_NAME.exec(rest);
    if (!m) throw new Error(`bad label name in: ${line}`);
    const name = m[0];
    rest = rest.slice(name.length);
    if (!rest.startsWith('="')) throw new Error(`expected =" in: ${line}`);
    rest = rest.slice(2);
    let value = "";
    for (;;) {
      const c = rest[0];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      rest = rest.slice(1);
      if (c === '"') break;
      if (c === "\\") {
        const e = rest[0];
        rest = rest.slice(1);
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else throw new Error(`bad escape \\${e} in: ${line}`);
      } else value += c;
    }
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    labels[name] = value;
    if (rest.startsWith(",")) rest = rest.slice(1);
    else if (!rest.startsWith("}")) throw new Error(`expected , or } in: ${line}`);
  }
}

const familyOf = (sample: string, families: Map<string, ParsedFamily>) => {
  if (families.has(sample)) return sample;
  for (const suffix of ["_bucket", "_sum", "_count"]) if (sample.endsWith(suffix) && families.get(sample.slice(0, -suffix.length))?.type === "histogram") return sample.slice(0, -suffix.length);
  return undefined;
};

export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("text must end with a line feed");
  const families = new Map<string, ParsedFamily>();
  const done = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  for (const line of text.split("\n").slice(0, -1)) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (!m) continue; // other comments are allowed
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (done.has(name)) throw new Error(`family ${name} appears twice`);
      if (current && current !== name) done.add(current);
      current = name;
      const f = families.get(name) ?? { name, type: "untyped", samples: [] };
      if (f.samples.length > 0) throw new Error(`${kind} after samples of ${name}`);
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`bad type ${rest}`);
        f.type = rest;
      } else {
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) throw new Error(`bad escape in HELP of ${name}`);
        f.help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      }
      families.set(name, f);
      continue;
    }
    const m = NAME.exec(line);
    if (!m) throw new Error(`bad metric name in: ${line}`);
    const name = m[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) [labels, rest] = parseLabels(rest, line);
    const parts = rest.split(" ");
    if (parts[0] !== "" || parts.length < 2 || parts.length > 3) throw new Error(`expected " value [timestamp]" in: ${line}`);
    const value = parseValue(parts[1]!, line);
    if (parts[2] !== undefined && !/^-?\d+$/.test(parts[2])) throw new Error(`bad timestamp in: ${line}`);
    const family = familyOf(name, families);
    if (!family) throw new Error(`sample ${name} without a TYPE/HELP before it`);
    if (done.has(family) || (current !== family)) throw new Error(`samples of ${family} are not together`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (series.has(key)) throw new Error(`series twice: ${line}`);
    series.add(key);
    families.get(family)!.samples.push({ name, labels, value });
  }
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

function checkHistogram(f: ParsedFamily) {
  const groups = new Map<string, ParsedSample[]>();
  for (const s of f.samples) {
    const k = JSON.stringify(Object.entries(s.labels).filter(([n]) => n !== "le").sort());
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  for (const samples of groups.values()) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
    const count = samples.find((s) => s.name === `${f.name}_count`);
    if (!samples.find((s) => s.name === `${f.name}_sum`) || !count) throw new Error(`${f.name}: _sum or _count missing`);
    let prevLe = -Infinity;
    let prev = 0;
    for (const b of buckets) {
      const le = parseValue(b.labels.le ?? "", f.name);
      if (!(le > prevLe) || b.value < prev) throw new Error(`${f.name}: buckets not ascending and cumulative`);
      prevLe = le;
      prev = b.value;
    }
    if (prevLe !== Infinity || prev !== count.value) throw new Error(`${f.name}: the +Inf bucket must equal _count`);
  }
}

/** The value of the series of `name` whose labels include `labels` (summed over the others), 0 if none. */
export function valueOf(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const f of families.values())
    for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  return sum;
}
