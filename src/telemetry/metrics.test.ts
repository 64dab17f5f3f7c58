import { describe, expect, it } from "vitest";
import { parsePrometheusText, valueOf } from "../../test/helpers/prometheus-text.js";
import { createRegistry, formatText, withLabel } from "./metrics.js";

describe("metrics registry", () => {
  it("writes counters, gauges and histograms in the text format, escaping label values and help", async () => {
    const r = createRegistry();
    const c = r.counter({ name: "x_total", help: 'counts "things"\\ and\nlines', labelNames: ["a", "b"] });
    c.labels('q"uote', "back\\slash\nnl").inc();
    c.labels('q"uote', "back\\slash\nnl").inc(2);
    c.labels("", "").inc();
    r.gauge({ name: "g", help: "a gauge", collect() { this.set(-1.5); } });
    const h = r.histogram({ name: "h_seconds", help: "h", labelNames: ["p"], buckets: [0.1, 1] });
    for (const v of [0.05, 0.1, 0.5, 5]) h.labels("x").observe(v);
    const text = await r.metrics();
    expect(text).toContain('x_total{a="q\\"uote",b="back\\\\slash\\nnl"} 3\n');
    expect(text).toContain("# HELP x_total counts \"things\"\\\\ and\\nlines\n");
    const f = parsePrometheusText(text);
    expect(valueOf(f, "x_total", { a: 'q"uote', b: "back\\slash\nnl" })).toBe(3);
    expect(f.get("x_total")!.help).toBe('counts "things"\\ and\nlines');
    expect(valueOf(f, "g")).toBe(-1.5);
    expect([0.1, 1, Infinity].map((le) => valueOf(f, "h_seconds_bucket", { le: le === Infinity ? "+Inf" : String(le) }))).toEqual([2, 3, 4]);
    expect(valueOf(f, "h_seconds_sum")).toBeCloseTo(5.65);
  });

  it("refuses bad names, labels, label counts and a name twice", () => {
    const r = createRegistry();
    expect(() => r.counter({ name: "1bad", help: "" })).toThrow();
    expect(() => r.counter({ name: "ok", help: "", labelNames: ["le"] })).toThrow();
    const c = r.counter({ name: "c", help: "", labelNames: ["a"] });
    expect(() => c.labels("1", "2")).toThrow();
    expect(() => r.gauge({ name: "c", help: "" })).toThrow();
  });

  it("merges several processes' families into one, each sample labelled with its worker", () => {
    const a = createRegistry();
    const b = createRegistry();
    a.counter({ name: "n_total", help: "n" }).inc(2);
    b.counter({ name: "n_total", help: "n" }).inc(5);
    const f = parsePrometheusText(formatText([...withLabel(a.collect(), "worker", "1"), ...withLabel(b.collect(), "worker", "2")]));
    expect(f.get("n_total")!.samples).toEqual([
      { name: "n_total", labels: { worker: "1" }, value: 2 },
      { name: "n_total", labels: { worker: "2" }, value: 5 },
    ]);
  });
});
