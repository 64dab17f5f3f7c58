/**
 * A minimal Prometheus registry: counters, gauges and histograms with labels, written in the text
 * exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Its surface is prom-client's (`labels(...values).inc()`, `.observe(v)`, `.set(v)`, a gauge's
 * `collect`, `registry.metrics()`, `registry.contentType`), so replacing it with prom-client is a
 * change to this file only. It exists because the project takes no dependency for ~150 lines.
 *
 * The hot path: `labels()` looks the label values up in a Map (one joined string key) and returns
 * the same child every time; callers with fixed labels keep the child. No allocation per sample.
 */

export interface CounterChild {
  inc(n?: number): void;
}
export interface GaugeChild {
  set(v: number): void;
  inc(n?: number): void;
}
export interface HistogramChild {
  observe(v: number): void;
}

export interface Counter extends CounterChild {
  labels(...values: string[]): CounterChild;
}
export interface Gauge extends GaugeChild {
  labels(...values: string[]): GaugeChild;
}
export interface Histogram extends HistogramChild {
  labels(...values: string[]): HistogramChild;
}

interface Spec {
  name: string;
  help: string;
  labelNames?: readonly string[];
}

export interface GaugeSpec extends Spec {
  /** Called before each scrape to set the current values. */
  collect?(this: Gauge): void;
}

export interface HistogramSpec extends Spec {
  /** Upper bounds, ascending (+Inf is implied). */
  buckets: readonly number[];
}

/** One sample line's labels and value (for merging registries of several processes). */
export interface Sample {
  suffix: string;
  labels: readonly (readonly [string, string])[];
  value: number;
}
export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  samples: Sample[];
}

export interface Registry {
  readonly contentType: string;
  counter(spec: Spec): Counter;
  gauge(spec: GaugeSpec): Gauge;
  histogram(spec: HistogramSpec): Histogram;
  /** The families and their samples as of now (gauges collected first). */
  collect(): Family[];
  /** The text exposition of collect(). */
  metrics(): Promise<string>;
}

export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SEP = "\u0001";

interface Metric {
  family(): Family;
}

export function createRegistry(): Registry {
  const metrics: Metric[] = [];
  const names = new Set<string>();

  function check(spec: Spec) {
    if (!NAME.test(spec.name)) throw new Error(`metrics: invalid name ${spec.name}`);
    if (names.has(spec.name)) throw new Error(`metrics: ${spec.name} registered twice`);
    for (const l of spec.labelNames ?? []) if (!LABEL.test(l) || l === "le" || l.startsWith("__")) throw new Error(`metrics: invalid label ${l} on ${spec.name}`);
    names.add(spec.name);
  }

  /** Children by their label values (a Map per label: no key string is built per sample), created on first use. */
  function family<C>(spec: Spec, make: () => C) {
    const labelNames = spec.labelNames ?? [];
    const children = new Map<string, { values: string[]; child: C }>();
    const root = new Map<string, unknown>();
    const labels = (...values: string[]): C => {
      let node: Map<string, unknown> = root;
      const last = values.length - 1;
      for (let i = 0; i < last; i++) {
        const next = node.get(values[i]!) as Map<string, unknown> | undefined;
        if (!next) return create(values);
        node = next;
      }
      return (node.get(values[last] ?? "") as C | undefined) ?? create(values);
    };
    const create = (values: string[]): C => {
      if (values.length !== labelNames.length) throw new Error(`metrics: ${spec.name} takes ${labelNames.length} label values, got ${values.length}`);
      const child = make();
      let node = root;
      for (let i = 0; i < values.length - 1; i++) {
        let next = node.get(values[i]!) as Map<string, unknown> | undefined;
        if (!next) node.set(values[i]!, (next = new Map()));
        node = next;
      }
      node.set(values[values.length - 1] ?? "", child);
      children.set(values.join(SEP), { values: values.map(String), child });
      return child;
    };
    const pairs = (values: string[]) => labelNames.map((n, i) => [n, values[i]!] as const);
    return { labels, children, pairs };
  }

  return {
    contentType: TEXT_CONTENT_TYPE,
    counter(spec) {
      check(spec);
      const f = family(spec, () => ({ v: 0, inc(n = 1) { this.v += n; } }));
      const unlabelled = spec.labelNames?.length ? undefined : f.labels();
      metrics.push({
        family: () => ({ name: spec.name, help: spec.help, type: "counter", samples: [...f.children.values()].map((c) => ({ suffix: "", labels: f.pairs(c.values), value: c.child.v })) }),
      });
      return { labels: f.labels, inc: (n = 1) => unlabelled!.inc(n) };
    },
    gauge(spec) {
      check(spec);
      const f = family(spec, () => ({ v: 0, set(v: number) { this.v = v; }, inc(n = 1) { this.v += n; } }));
      const unlabelled = spec.labelNames?.length ? undefined : f.labels();
      const gauge: Gauge = { labels: f.labels, set: (v) => unlabelled!.set(v), inc: (n = 1) => unlabelled!.inc(n) };
      metrics.push({
        family: () => {
          spec.collect?.call(gauge);
          return { name: spec.name, help: spec.help, type: "gauge", samples: [...f.children.values()].map((c) => ({ suffix: "", labels: f.pairs(c.values), value: c.child.v })) };
        },
      });
      return gauge;
    },
    histogram(spec) {
      check(spec);
      const bounds = [...spec.buckets];
      for (let i = 1; i < bounds.length; i++) if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`metrics: ${spec.name} buckets must ascend`);
      const f = family(spec, () => ({
        counts: new Float64Array(bounds.length + 1),
        sum: 0,
        observe(v: number) {
          let i = 0;
          while (i < bounds.length && v > bounds[i]!) i++;
          this.counts[i]!++;
          this.sum += v;
        },
      }));
      const unlabelled = spec.labelNames?.length ? undefined : f.labels();
      metrics.push({
        family: () => {
          const samples: Sample[] = [];
          for (const c of f.children.values()) {
            const base = f.pairs(c.values);
            let cumulative = 0;
            for (let i = 0; i <= bounds.length; i++) {
              cumulative += c.child.counts[i]!;
              samples.push({ suffix: "_bucket", labels: [...base, ["le", i < bounds.length ? formatNumber(bounds[i]!) : "+Inf"]], value: cumulative });
            }
            samples.push({ suffix: "_sum", labels: base, value: c.child.sum });
            samples.push({ suffix: "_count", labels: base, value: cumulative });
          }
          return { name: spec.name, help: spec.help, type: "histogram", samples };
        },
      });
      return { labels: f.labels, observe: (v) => unlabelled!.observe(v) };
    },
    collect: () => metrics.map((m) => m.family()),
    async metrics() {
      return formatText(this.collect());
    },
  };
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64) as Prometheus writes it: integers without ".0", NaN, +Inf, -Inf. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

/**
 * The text exposition of `families`; a family that occurs more than once (registries of several
 * processes) is written once with all its samples.
 */
export function formatText(families: Family[]): string {
  const merged = new Map<string, Family>();
  for (const f of families) {
    const m = merged.get(f.name);
    if (m) m.samples.push(...f.samples);
    else merged.set(f.name, { ...f, samples: [...f.samples] });
  }
  let out = "";
  for (const f of merged.values()) {
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const labels = s.labels.length ? `{${s.labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}` : "";
      out += `${f.name}${s.suffix}${labels} ${formatNumber(s.value)}\n`;
    }
  }
  return out;
}

/** The same families with a label added to every sample (one process's part of a merged scrape). */
export function withLabel(families: Family[], name: string, value: string): Family[] {
  return families.map((f) => ({ ...f, samples: f.samples.map((s) => ({ ...s, labels: [[name, value] as const, ...s.labels] })) }));
}
