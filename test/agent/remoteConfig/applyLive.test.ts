import { describe, expect, it } from "vitest";
import { liveReconfiguration } from "../../../agent/remoteConfig/applyLive.ts";
import { TheaError } from "../../../agent/core/errors.ts";
import type { ResolvedConfig } from "../../../config/schema.ts";

function setUp(options: { camerasRefuse?: boolean } = {}) {
  const calls: string[] = [];
  const apply = liveReconfiguration({
    cameras: {
      reconfigureCameras: async () => {
        calls.push("cameras");
        if (options.camerasRefuse) throw new TheaError("consultation-live", "camera is being watched");
      },
    },
    replaceConfig: (_config, hash) => void calls.push(`config ${hash}`),
    logLevels: { set: (level) => void calls.push(`log ${level}`) },
    telemetry: [{ reconfigure: () => void calls.push("reporter") }, { reconfigure: () => void calls.push("summary") }],
    peripherals: { reconfigure: async (list) => void calls.push(`peripherals ${list.length}`) },
  });
  const config = { cameras: [], log: { level: "debug" }, peripherals: [] } as unknown as ResolvedConfig;
  return { calls, apply, config };
}

describe("liveReconfiguration", () => {
  it("reconfigures only what changed, cameras first, after them the config every service reads", async () => {
    const { calls, apply, config } = setUp();
    await apply(config, "h2", ["peripherals", "log", "cameras", "telemetry"]);
    expect(calls).toEqual(["cameras", "config h2", "log debug", "reporter", "summary", "peripherals 0"]);
    calls.length = 0;
    await apply(config, "h3", ["log"]);
    expect(calls).toEqual(["config h3", "log debug"]);
  });

  it("changes nothing else when a watched camera refuses", async () => {
    const { calls, apply, config } = setUp({ camerasRefuse: true });
    await expect(apply(config, "h2", ["cameras", "log", "peripherals"])).rejects.toThrow(/watched/);
    expect(calls).toEqual(["cameras"]);
  });
});
