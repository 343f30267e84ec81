import { describe, expect, it } from "vitest";
import { nextEstimateKbps } from "../../../agent/media/bandwidth.ts";

describe("the bitrate control law", () => {
  it("backs off by half the loss above 10 %, grows 5 % below 2 %, holds between or without a report", () => {
    expect(nextEstimateKbps({ currentKbps: 1000, fractionLost: 0.2, rembKbps: undefined })).toBeCloseTo(900);
    expect(nextEstimateKbps({ currentKbps: 1000, fractionLost: 0, rembKbps: undefined })).toBeCloseTo(1050);
    expect(nextEstimateKbps({ currentKbps: 1000, fractionLost: 0.05, rembKbps: undefined })).toBe(1000);
    expect(nextEstimateKbps({ currentKbps: 1000, fractionLost: undefined, rembKbps: undefined })).toBe(1000);
  });

  it("never exceeds what the receiver estimates it can take", () => {
    expect(nextEstimateKbps({ currentKbps: 1000, fractionLost: 0, rembKbps: 600 })).toBe(600);
    expect(nextEstimateKbps({ currentKbps: 1000, fractionLost: 0, rembKbps: 5000 })).toBeCloseTo(1050);
  });
});
