import { describe, expect, it } from "vitest";
import { LossWindow, nextEstimateKbps } from "../../../agent/media/bandwidth.ts";

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

describe("loss over a control period", () => {
  it("averages the reports' fraction lost, weighted by the packets each covered", () => {
    const window = new LossWindow();
    expect(window.sample()).toBeUndefined();
    window.report(0, 1000); // the first report only sets where counting starts
    window.report(0.5, 1010); // 10 packets, half lost
    window.report(0, 1040); // 30 packets, none lost
    window.report(0.9, 1040); // no new packets: tells nothing
    expect(window.sample()).toBeCloseTo(5 / 40);
    expect(window.sample()).toBeUndefined(); // no report since: nothing to tell
    window.report(0.25, 1140);
    expect(window.sample()).toBeCloseTo(0.25);
  });
});
