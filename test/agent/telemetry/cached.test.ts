/** cached(): one costly health figure per TTL, shared by concurrent callers; a failure is not kept. */
import { describe, expect, it } from "vitest";
import { cached } from "../../../agent/telemetry/cached.ts";

describe("cached", () => {
  it("loads once per TTL and loads again after it", async () => {
    let now = 0;
    let loads = 0;
    const figure = cached(async () => ++loads, 1000, () => now);
    expect(await figure()).toBe(1);
    now = 999;
    expect(await figure()).toBe(1);
    now = 1000;
    expect(await figure()).toBe(2);
    expect(loads).toBe(2);
  });

  it("shares one in-flight load among concurrent callers", async () => {
    let loads = 0;
    let finish: (value: string) => void = () => undefined;
    const figure = cached(() => {
      loads += 1;
      return new Promise<string>((resolve) => {
        finish = resolve;
      });
    }, 1000);
    const both = Promise.all([figure(), figure()]);
    finish("synchronized");
    expect(await both).toEqual(["synchronized", "synchronized"]);
    expect(loads).toBe(1);
  });

  it("does not keep a failure: the next call tries again", async () => {
    let loads = 0;
    const figure = cached(async () => {
      loads += 1;
      if (loads === 1) throw new Error("timedatectl failed");
      return "ok";
    }, 60_000);
    await expect(figure()).rejects.toThrow("timedatectl failed");
    expect(await figure()).toBe("ok");
  });
});
