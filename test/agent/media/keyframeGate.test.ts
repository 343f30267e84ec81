import { describe, expect, it } from "vitest";
import { KeyframeGate } from "../../../agent/media/keyframeGate.ts";

describe("forcing keyframes", () => {
  it("honours a burst of picture-loss requests once per interval", () => {
    const gate = new KeyframeGate(1000);
    const forced = [0, 30, 60, 400, 999, 1000, 1030, 2500].filter((at) => gate.allow(at, "picture-loss"));
    expect(forced).toEqual([0, 1000, 2500]);
  });

  it("always gives a newly connected viewer its keyframe, and counts it against the next PLI", () => {
    const gate = new KeyframeGate(1000);
    expect(gate.allow(0, "picture-loss")).toBe(true);
    expect(gate.allow(100, "new-viewer")).toBe(true);
    expect(gate.allow(200, "new-viewer")).toBe(true);
    expect(gate.allow(900, "picture-loss")).toBe(false);
    expect(gate.allow(1200, "picture-loss")).toBe(true);
  });
});
