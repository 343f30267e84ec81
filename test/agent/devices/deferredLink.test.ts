/**
 * DeferredLink: the real link's code is imported at the first start, its events are passed on,
 * a stop before the import finished leaves it unstarted, and an import that fails is said in the
 * link's state and tried again by retryNow.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { DeferredLink } from "../../../agent/devices/deferredLink.ts";
import type { ByteLink, LinkEvents, LinkState } from "../../../drivers/serial/link.ts";

class FakeLink extends EventEmitter<LinkEvents> implements ByteLink {
  readonly calls: string[] = [];
  #onStart: () => void = () => undefined;
  readonly started = new Promise<void>((resolve) => (this.#onStart = resolve));
  start(): void {
    this.calls.push("start");
    this.#onStart();
  }
  async stop(): Promise<void> {
    this.calls.push("stop");
  }
  write(bytes: Uint8Array): boolean {
    this.calls.push(`write ${bytes.length}`);
    return true;
  }
  retryNow(): boolean {
    this.calls.push("retryNow");
    return true;
  }
}

/** A load the test resolves or rejects by hand, counting how often it was asked. */
function manualLoad() {
  const attempts: { resolve: (link: ByteLink) => void; reject: (error: Error) => void }[] = [];
  const load = () => new Promise<ByteLink>((resolve, reject) => attempts.push({ resolve, reject }));
  return { load, attempts };
}

const states = (link: DeferredLink) => {
  const seen: LinkState[] = [];
  link.on("state", (state) => seen.push(state));
  return seen;
};

describe("DeferredLink", () => {
  it("imports nothing until started, then starts the loaded link and passes its events on", async () => {
    const { load, attempts } = manualLoad();
    const link = new DeferredLink(load);
    expect(attempts).toHaveLength(0);
    const data: Buffer[] = [];
    link.on("data", (chunk) => data.push(chunk));
    const seen = states(link);
    link.start();
    expect(link.write(Uint8Array.of(1))).toBe(false); // nothing to write to yet
    const real = new FakeLink();
    attempts[0]?.resolve(real);
    await real.started;
    real.emit("data", Buffer.from("ab"));
    real.emit("state", { connected: true, path: "AA:BB" });
    expect(data).toEqual([Buffer.from("ab")]);
    expect(seen).toEqual([{ connected: true, path: "AA:BB" }]);
    expect(link.write(Uint8Array.of(1, 2))).toBe(true);
    expect(link.retryNow()).toBe(true);
    await link.stop();
    link.start();
    expect(attempts).toHaveLength(1); // imported once
    expect(real.calls).toEqual(["start", "write 2", "retryNow", "stop", "start"]);
  });

  it("does not start a link whose import finished after stop()", async () => {
    const { load, attempts } = manualLoad();
    const link = new DeferredLink(load);
    link.start();
    const stopped = link.stop();
    const real = new FakeLink();
    attempts[0]?.resolve(real);
    await stopped;
    expect(real.calls).toEqual(["stop"]);
  });

  it("says a failed import in its state and tries it again on retryNow", async () => {
    const { load, attempts } = manualLoad();
    const link = new DeferredLink(load);
    const seen = states(link);
    link.start();
    attempts[0]?.reject(new Error("Cannot find package 'node-ble'"));
    await new Promise<void>((resolve) => link.once("state", () => resolve()));
    expect(seen).toEqual([{ connected: false, error: "the link's code did not load: Cannot find package 'node-ble'", retryInMs: undefined }]);
    expect(link.retryNow()).toBe(true);
    expect(attempts).toHaveLength(2);
    const real = new FakeLink();
    attempts[1]?.resolve(real);
    await real.started;
    await link.stop();
    expect(real.calls).toEqual(["start", "stop"]);
  });
});
