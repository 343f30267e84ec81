/** The Bluetooth LE link's flood bound: a burst passes whole, then no more than the steady rate. */
import { describe, expect, it } from "vitest";
import { ValueBudget } from "../../../agent/devices/valueBudget.ts";

describe("ValueBudget", () => {
  it("lets a meter's burst of stored records through, then holds a flood to the steady rate", () => {
    const budget = new ValueBudget({ burst: 1000, perSecond: 20, now: 0 });
    // 1000 stored records at once: all pass.
    let passed = 0;
    for (let i = 0; i < 1000; i++) if (budget.take(0)) passed += 1;
    expect(passed).toBe(1000);
    // A device then notifying 500 times a second for 10 s gets 20 a second through.
    passed = 0;
    for (let ms = 2; ms <= 10_000; ms += 2) if (budget.take(ms)) passed += 1;
    expect(passed).toBe(200);
  });

  it("refills to the burst, never beyond, and ignores a clock stepping back", () => {
    const budget = new ValueBudget({ burst: 5, perSecond: 20, now: 0 });
    for (let i = 0; i < 5; i++) budget.take(0);
    expect(budget.take(0)).toBe(false);
    let passed = 0;
    for (let i = 0; i < 10; i++) if (budget.take(60_000)) passed += 1;
    expect(passed).toBe(5);
    expect(budget.take(1_000)).toBe(false);
  });
});
