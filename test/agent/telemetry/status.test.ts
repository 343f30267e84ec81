/** The retained presence messages: what a fleet page reads of a box online, and why it went offline. */
import { describe, expect, it } from "vitest";
import type { AgentContext } from "../../../agent/core/context.ts";
import { offlineStatus, onlineStatus } from "../../../agent/telemetry/status.ts";

const site = { province: "Kampong Cham", district: "Batheay" };
const ctx = {
  config: { deviceId: "clinic-7", site, mqtt: { keepaliveSec: 30 } },
  configHash: "c0ffee",
  version: "1.4.2",
  bootId: "boot-1",
  startedAt: new Date("2026-12-03T10:00:00Z"),
  clockSynchronized: async () => true,
} as unknown as AgentContext;

describe("status", () => {
  it("says online with the version, config hash, boot, connection number, clock, site labels and the keep-alive its heartbeat follows", async () => {
    const status = await onlineStatus(ctx, 3);
    expect(status).toEqual({
      online: true,
      version: "1.4.2",
      startedAt: "2026-12-03T10:00:00.000Z",
      configHash: "c0ffee",
      bootId: "boot-1",
      session: 3,
      clockSynchronized: true,
      site: { province: "Kampong Cham", district: "Batheay" },
      keepaliveSec: 30,
    });
    // A copy: a later change to the published message cannot reach the running config.
    expect(status.site).not.toBe(site);
  });

  it("says offline with the reason and the boot it ends", () => {
    expect(offlineStatus(ctx, "shutdown")).toEqual({ online: false, reason: "shutdown", bootId: "boot-1" });
  });
});
