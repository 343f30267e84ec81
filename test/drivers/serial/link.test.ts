/**
 * SerialLink's reconnecting, with the port binding injected (the seam for a device that is not
 * there yet): a rescan tries again at once instead of waiting out the backoff.
 */
import { describe, expect, it } from "vitest";
import { SerialLink, type LinkState, type OpenPort } from "../../../drivers/serial/link.ts";

describe("SerialLink", () => {
  it("retries at once when asked, instead of after its backoff", async () => {
    let present = false;
    let attempts = 0;
    const open: OpenPort = async (path) => {
      attempts += 1;
      if (!present) throw new Error(`${path}: no such device`);
      return { onData: () => undefined, onClose: () => undefined, write: () => undefined, close: async () => undefined };
    };
    const link = new SerialLink({ resolvePath: async () => "/dev/ttyUSB7", settings: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 }, open, initialRetryMs: 3_600_000, maxRetryMs: 3_600_000 });
    const states: LinkState[] = [];
    const next = () => new Promise<LinkState>((resolve) => link.once("state", resolve));

    let state = next();
    link.start();
    states.push(await state);
    expect(states[0]).toMatchObject({ connected: false, error: "/dev/ttyUSB7: no such device", retryInMs: 3_600_000 });

    present = true; // the cable is plugged back in; the next try would be in an hour
    state = next();
    expect(link.retryNow()).toBe(true);
    expect(await state).toEqual({ connected: true, path: "/dev/ttyUSB7" });
    expect(attempts).toBe(2);
    expect(link.retryNow()).toBe(false); // connected: nothing to retry
    await link.stop();
    expect(link.retryNow()).toBe(false);
  });
});
