import { describe, expect, it } from "vitest";
import { createLimiter } from "./rate-limit.js";

describe("createLimiter", () => {
  it("allows the burst, then the sustained rate, and says how long to wait", () => {
    let t = 0;
    const l = createLimiter({ perSecond: 2, burst: 3, now: () => t });
    expect([l.take("a"), l.take("a"), l.take("a")]).toEqual([0, 0, 0]);
    expect(l.take("a")).toBe(1);
    expect(l.wait("a")).toBe(1);
    expect(l.take("b")).toBe(0); // keys are independent
    t += 500;
    expect(l.take("a")).toBe(0);
    expect(l.take("a")).toBe(1);
    t += 10_000;
    expect([l.take("a"), l.take("a"), l.take("a"), l.take("a")]).toEqual([0, 0, 0, 1]);
  });

  it("reports whole seconds for slow rates and forgets the oldest keys past its bound", () => {
    const t = 0;
    const l = createLimiter({ perSecond: 1 / 60, burst: 2, maxKeys: 2, now: () => t });
    expect([l.take("x"), l.take("x")]).toEqual([0, 0]);
    expect(l.take("x")).toBe(60);
    l.take("y");
    l.take("z"); // evicts "x"
    expect(l.take("x")).toBe(0);
  });

  it("enforces its share of the limit, recomputed when the share changes", () => {
    let t = 0;
    let processes = 2;
    const l = createLimiter({ perSecond: 1, burst: 4, now: () => t, share: () => 1 / processes });
    expect([l.take("k"), l.take("k"), l.take("k")]).toEqual([0, 0, 2]); // half the burst, half the rate
    t += 2000;
    expect([l.take("k"), l.take("k")]).toEqual([0, 2]);
    processes = 1;
    t += 2000;
    expect([l.take("k"), l.take("k"), l.take("k")]).toEqual([0, 0, 1]);
  });
});
