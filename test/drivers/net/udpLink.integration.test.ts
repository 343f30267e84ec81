/**
 * VISCA over IP on real UDP sockets (loopback): the agent's link talks to one camera, a simulated
 * camera's bound link answers whoever spoke to it last, every datagram is one `data` event, and a
 * link writes nothing before its socket is ready or after it is stopped.
 */
import { describe, expect, it } from "vitest";
import type { LinkState } from "../../../drivers/serial/link.ts";
import { UdpLink } from "../../../drivers/net/udpLink.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { freePort } from "../../helpers/ports.ts";
import { waitFor } from "../../helpers/wait.ts";

const { cleanup } = useCleanups();

/** Starts a link and resolves once it reports its socket ready. */
async function started(link: UdpLink): Promise<LinkState> {
  cleanup(() => link.stop());
  const ready = waitFor<LinkState>("the UDP link's first state", 5_000, (done) => {
    link.once("state", done);
    return () => link.off("state", done);
  });
  link.start();
  return ready;
}

const nextDatagram = (link: UdpLink, what: string) =>
  waitFor<Buffer>(what, 5_000, (done) => {
    link.once("data", done);
    return () => link.off("data", done);
  });

describe("UdpLink", () => {
  it("carries a command to the camera and its reply back, one datagram per event", async () => {
    const port = await freePort();
    const camera = new UdpLink("bind", { host: "127.0.0.1", port });
    const agent = new UdpLink("connect", { host: "127.0.0.1", port });
    expect(agent.write(Uint8Array.from([0x81, 0x09, 0xff]))).toBe(false);

    expect(await started(camera)).toEqual({ connected: true, path: `udp://127.0.0.1:${port}` });
    expect(await started(agent)).toEqual({ connected: true, path: `udp://127.0.0.1:${port}` });
    expect(camera.write(Uint8Array.from([0x90, 0x41, 0xff]))).toBe(false); // nobody has spoken to it yet

    const command = nextDatagram(camera, "the command at the camera");
    expect(agent.write(Uint8Array.from([0x81, 0x01, 0x06, 0x04, 0xff]))).toBe(true);
    expect([...(await command)]).toEqual([0x81, 0x01, 0x06, 0x04, 0xff]);

    const reply = nextDatagram(agent, "the reply at the agent");
    expect(camera.write(Uint8Array.from([0x90, 0x41, 0xff]))).toBe(true);
    expect([...(await reply)]).toEqual([0x90, 0x41, 0xff]);
  });

  it("has no connection to retry, and writes nothing once stopped", async () => {
    const port = await freePort();
    const agent = new UdpLink("connect", { host: "127.0.0.1", port });
    await started(agent);
    expect(agent.retryNow()).toBe(false);
    await agent.stop();
    expect(agent.write(Uint8Array.from([0x81, 0x01, 0xff]))).toBe(false);
  });
});
