/**
 * The agent tells systemd it is ready (connected, or started degraded when the broker is
 * unreachable), pings the watchdog from its event loop, and says when it is stopping.
 */
import { describe, expect, it } from "vitest";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { Mosquitto } from "../../helpers/mosquitto.ts";
import { NotifySocket } from "../../helpers/notifySocket.ts";
import { freePort } from "../../helpers/ports.ts";
import { useCleanups } from "../../helpers/cleanups.ts";

const { cleanup } = useCleanups();

describe("sd_notify", () => {
  it("sends READY=1 once connected, WATCHDOG=1 while running and STOPPING=1 on SIGTERM", async () => {
    const broker = await Mosquitto.start();
    cleanup(() => broker.stop());
    const notify = await NotifySocket.open();
    cleanup(() => notify.close());
    const agent = await AgentProcess.start({
      brokerUrl: broker.url,
      env: { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: "400000" },
    });
    cleanup(() => agent.stop());

    expect(await notify.waitFor("READY=1")).toContain("STATUS=online");
    await notify.waitFor("WATCHDOG=1");
    agent.kill("SIGTERM");
    await notify.waitFor("STOPPING=1");
    expect((await agent.waitForExit(5000)).code).toBe(0);
  });

  it("still becomes ready, degraded, when the broker cannot be reached", async () => {
    const notify = await NotifySocket.open();
    cleanup(() => notify.close());
    const nobodyListens = await freePort();
    const agent = await AgentProcess.start({
      brokerUrl: `mqtt://127.0.0.1:${nobodyListens}`,
      env: { NOTIFY_SOCKET: notify.path },
    });
    cleanup(() => agent.stop());
    expect(await notify.waitFor("READY=1")).toContain("STATUS=degraded");
  });
});
