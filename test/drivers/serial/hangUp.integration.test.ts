/**
 * A real serial port (one end of a socat pseudo-terminal pair) whose far side goes away: the port
 * must close with an error so the link can report the cable pulled, instead of reading zero bytes
 * for ever (what serialport's own Linux read does, see drivers/serial/hangUp.ts).
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openSerialPort, type PortLike } from "../../../drivers/serial/link.ts";
import { PtyPair } from "../../helpers/ptyPair.ts";
import { waitFor, within } from "../../helpers/wait.ts";
import { useCleanups } from "../../helpers/cleanups.ts";

const settings = { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 } as const;
const { cleanup } = useCleanups();

async function pair(): Promise<PtyPair> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-hangup-"));
  cleanup(() => rm(dir, { recursive: true, force: true }));
  const pty = new PtyPair(dir, "port");
  await pty.open();
  cleanup(() => pty.close());
  return pty;
}

/** Opens the agent's end and records how it closes. */
async function agentPort(pty: PtyPair): Promise<{ port: PortLike; closed: Promise<Error | undefined>; data: (text: string) => Promise<void> }> {
  const port = await openSerialPort(pty.agentEnd, settings);
  cleanup(() => port.close());
  let received = "";
  const waiters = new Set<() => void>();
  port.onData((chunk) => {
    received += chunk.toString("latin1");
    for (const waiter of waiters) waiter();
  });
  const closed = new Promise<Error | undefined>((resolve) => port.onClose(resolve));
  const data = (text: string) =>
    waitFor<void>(`"${text}" on the port`, 5_000, (done) => {
      const check = () => {
        if (received.includes(text)) done();
      };
      waiters.add(check);
      check();
      return () => waiters.delete(check);
    });
  return { port, closed, data };
}

describe("a serial port whose far side hangs up", () => {
  it("still reads what the device sends, and closes cleanly when we close it with a read waiting", async () => {
    const pty = await pair();
    const { port, closed, data } = await agentPort(pty);
    const device = await open(pty.deviceEnd, "r+");
    cleanup(() => device.close());
    await device.write("hello from the device");
    await data("hello from the device");
    await port.close();
    expect(await closed).toBeUndefined(); // our doing: no error, so the link does not retry
  });

  it("closes with an error when the pair goes away, as a pulled cable", async () => {
    const pty = await pair();
    const { closed } = await agentPort(pty);
    await pty.close();
    const error = await within(closed, 5_000, "the port to close after the hang-up");
    expect(error).toBeInstanceOf(Error);
  });

  it("closes with an error when the device lets go of its end first, then the pair goes away", async () => {
    const pty = await pair();
    const { closed, data } = await agentPort(pty);
    const device = await open(pty.deviceEnd, "r+");
    await device.write("one frame");
    await data("one frame");
    await device.close();
    await pty.close();
    const error = await within(closed, 5_000, "the port to close after the hang-up");
    expect(error).toBeInstanceOf(Error);
  });
});
