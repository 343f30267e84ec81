/**
 * The VISCA controller against byte-level replies: what the camera answers, errors, replies from
 * camera addresses other than 1, timeouts, and one command in flight at a time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { driverById } from "../../../drivers/index.ts";
import { wrapIp, unwrapIp, IP_PAYLOAD } from "../../../drivers/visca/framer.ts";
import type { DriverInstance } from "../../../drivers/core/types.ts";

const driver = driverById("visca");
if (!driver) throw new Error("visca not registered");

/** A session whose sent bytes are recorded; the test plays the camera by pushing replies. */
function session(options: Record<string, unknown> = {}): { session: DriverInstance; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  const current = driver?.instantiate(options, { send: (bytes) => sent.push(bytes) > 0 });
  if (!current) throw new Error("no session");
  return { session: current, sent };
}

const bytes = (...values: number[]) => Uint8Array.from(values);
/** Lets queued work run (the controller sends from its command queue). */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe("VISCA controller", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves a command after ACK then completion on the same socket", async () => {
    const { session: s, sent } = session();
    const done = s.execute("ptz.stop", {});
    await settle();
    expect([...(sent[0] ?? [])]).toEqual([0x81, 0x01, 0x06, 0x01, 0x01, 0x01, 0x03, 0x03, 0xff]);
    s.push(bytes(0x90, 0x42, 0xff));
    s.push(bytes(0x90, 0x51, 0xff)); // another socket's completion: not ours
    s.push(bytes(0x90, 0x52, 0xff));
    await expect(done).resolves.toEqual({ done: true });
  });

  it("matches replies from a camera at address 2 (A0) and ignores camera 1's", async () => {
    const { session: s } = session({ address: 2 });
    const done = s.execute("ptz.preset.recall", { preset: 4 });
    await settle();
    s.push(bytes(0x90, 0x41, 0xff, 0x90, 0x51, 0xff));
    s.push(bytes(0xa0, 0x41, 0xff, 0xa0, 0x51, 0xff));
    await expect(done).resolves.toEqual({ done: true });
  });

  it("turns a camera error into device-rejected with the manual's meaning", async () => {
    const { session: s } = session();
    const done = s.execute("ptz.preset.recall", { preset: 9 });
    await settle();
    s.push(bytes(0x90, 0x41, 0xff, 0x90, 0x61, 0x41, 0xff));
    await expect(done).rejects.toMatchObject({ code: "device-rejected", message: expect.stringContaining("command not executable") });
  });

  it("times out when the camera does not answer, and the next command still runs", async () => {
    const { session: s, sent } = session({ replyTimeoutMs: 500 });
    const first = s.execute("ptz.stop", {});
    const second = s.execute("ptz.position", {});
    const firstFailed = expect(first).rejects.toMatchObject({ code: "device-timeout" });
    await settle();
    expect(sent).toHaveLength(1); // one command in flight: the inquiry waits
    await vi.advanceTimersByTimeAsync(500);
    await firstFailed;
    expect(sent).toHaveLength(2);
    s.push(bytes(0x90, 0x50, 0x0f, 0x0f, 0x0b, 0x0d, 0x00, 0x01, 0x02, 0x03, 0xff)); // pan 0xFFBD = -67, tilt 0x123
    await settle();
    s.push(bytes(0x90, 0x50, 0x02, 0x00, 0x00, 0x00, 0xff));
    await expect(second).resolves.toEqual({ pan: -67, tilt: 0x123, zoom: 0x2000 });
  });

  it("fails what is waiting when the line goes down", async () => {
    const { session: s } = session();
    const done = s.execute("ptz.goto", { pan: 0, tilt: 0 });
    await settle();
    s.disconnected();
    await expect(done).rejects.toMatchObject({ code: "device-unavailable" });
  });

  it("wraps commands in the IP header with increasing sequence numbers", async () => {
    const { session: s, sent } = session({ transport: "ip" });
    const done = s.execute("ptz.stop", {});
    await settle();
    const datagram = sent[0] ?? new Uint8Array(0);
    expect(unwrapIp(datagram)).toMatchObject({ ok: true, payloadType: IP_PAYLOAD.COMMAND, sequence: 1 });
    s.push(wrapIp(IP_PAYLOAD.REPLY, 1, bytes(0x90, 0x41, 0xff)));
    s.push(wrapIp(IP_PAYLOAD.REPLY, 1, bytes(0x90, 0x51, 0xff)));
    await expect(done).resolves.toEqual({ done: true });
    void s.execute("ptz.stop", {}).catch(() => undefined);
    await settle();
    expect(unwrapIp(sent[1] ?? new Uint8Array(0))).toMatchObject({ ok: true, sequence: 2 });
    s.disconnected();
  });
});
