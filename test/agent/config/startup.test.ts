/**
 * The start-up layering on a real data directory: the remote layer over the box's file, the
 * environment over both, and a trial that keeps crashing being undone before the agent runs.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { RemoteConfigStore } from "../../../agent/config/remoteStore.ts";
import { loadStartupConfig, MAX_TRIAL_STARTS } from "../../../agent/config/startup.ts";

describe("start-up configuration", () => {
  async function boxFiles(remote: object) {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-startup-"));
    const dataDir = path.join(dir, "data");
    const file = path.join(dir, "thea.yaml");
    await writeFile(file, `deviceId: box-1\ndataDir: ${dataDir}\nmqtt: { url: "mqtt://b" }\ntelemetry: { healthIntervalSec: 60 }\n`);
    const store = new RemoteConfigStore(dataDir);
    await store.save({ applied: { version: 0, layer: {}, appliedAt: null }, trial: null, lastError: null, ...remote });
    return { file, store };
  }

  it("runs the remote layer over the box's file, the environment over both", async () => {
    const { file } = await boxFiles({ applied: { version: 4, layer: { telemetry: { healthIntervalSec: 15 }, log: { level: "warn" } }, appliedAt: "2026-11-23T10:00:00Z" } });
    const loaded = await loadStartupConfig({ path: file, env: { THEA_LOG_LEVEL: "debug" } });
    expect(loaded.ok && loaded.startup.config).toMatchObject({ telemetry: { healthIntervalSec: 15 }, log: { level: "debug" } });
    expect(loaded.ok && loaded.startup.local.telemetry.healthIntervalSec).toBe(60);
  });

  it("undoes a trial that keeps failing to come up, back to the previous layer, and says why", async () => {
    const previous = { version: 3, layer: { telemetry: { healthIntervalSec: 30 } }, appliedAt: "2026-11-23T09:00:00Z" };
    const { file, store } = await boxFiles({
      applied: { version: 4, layer: { telemetry: { healthIntervalSec: 15 } }, appliedAt: "2026-11-23T10:00:00Z" },
      trial: { previous, since: "2026-11-23T10:00:00Z", starts: 0 },
    });
    for (let start = 1; start <= MAX_TRIAL_STARTS; start++) {
      const loaded = await loadStartupConfig({ path: file, env: {} });
      expect(loaded.ok && loaded.startup.config.telemetry.healthIntervalSec).toBe(15); // still trying version 4
    }
    const undone = await loadStartupConfig({ path: file, env: {} });
    expect(undone.ok && undone.startup.config.telemetry.healthIntervalSec).toBe(30);
    const saved = await store.load();
    expect(saved.ok && saved.state).toMatchObject({ applied: previous, trial: null, lastError: { version: 4, errors: [expect.stringContaining("started 3 times")] } });
    // The undone version is remembered (its retained message would bring it back), as a version to skip.
    expect(saved.ok && saved.state.skipUpTo).toBe(4);
  });

  it("falls back to the box's file when the stored layer no longer validates", async () => {
    const { file } = await boxFiles({ applied: { version: 5, layer: { telemetry: { healthIntervalSec: "often" } }, appliedAt: null } });
    const loaded = await loadStartupConfig({ path: file, env: {} });
    expect(loaded.ok && loaded.startup.config.telemetry.healthIntervalSec).toBe(60);
    expect(loaded.ok && loaded.startup.state.lastError?.errors[0]).toMatch(/no longer validates; running on the local file: telemetry\.healthIntervalSec/);
  });

  it("drops a stored layer that reaches outside the box's remotePolicy (kept from before the policy)", async () => {
    const scanner = { peripherals: [{ id: "monitor", driver: "hl7-mllp", tcp: { connect: "10.1.2.3:22" } }] };
    const { file } = await boxFiles({ applied: { version: 6, layer: scanner, appliedAt: null } });
    const loaded = await loadStartupConfig({ path: file, env: {} });
    expect(loaded.ok && loaded.startup.config.peripherals).toEqual([]);
    expect(loaded.ok && loaded.startup.state.lastError?.errors[0]).toMatch(/running on the local file: peripherals\[0\]\.tcp\.connect: 10\.1\.2\.3 is outside remotePolicy\.networks/);
  });
});
