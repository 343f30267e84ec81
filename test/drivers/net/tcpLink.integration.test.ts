/**
 * A network monitor that loses power says nothing: no FIN, no reset. The link must still notice
 * and report it, whichever side dialled. Box and monitor are processes on two hosts of their own
 * (network namespaces on a veth wire), and the monitor's link is taken down; loopback cannot show
 * this, because the kernel answers for a process that dies.
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { LinkState } from "../../../drivers/serial/link.ts";
import { PROJECT_ROOT } from "../../helpers/agentProcess.ts";
import { VethWire, type Side } from "../../helpers/vethWire.ts";
import { LineLog, terminate } from "../../helpers/wait.ts";
import { useCleanups } from "../../helpers/cleanups.ts";

const PROBE = path.join(PROJECT_ROOT, "test", "helpers", "tcpLinkProbe.ts");
/** Probing after 1 s of silence (5 s in service) keeps the test short; the kernel then probes 10 times. */
const KEEPALIVE_IDLE_MS = 1_000;

const { cleanup } = useCleanups();

/** A process on one side of the wire, its output lines kept for waiting on. */
function start(wire: VethWire, side: Side, args: string[]): LineLog {
  const child: ChildProcess = wire.spawn(side, process.execPath, args);
  cleanup(() => terminate(child, `the ${side}'s process`, "SIGKILL"));
  const log = new LineLog();
  child.stdout?.on("data", (chunk: Buffer) => log.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk));
  return log;
}

/** A state line of the probe's (it also prints `{"listening":true}`), or undefined. */
function parseState(line: string): LinkState | undefined {
  return line.startsWith('{"connected"') ? (JSON.parse(line) as LinkState) : undefined;
}

/** The box's link, run by the probe; resolves with the first reported state that matches. */
async function linkState(log: LineLog, what: string, match: (state: LinkState) => boolean, timeoutMs: number): Promise<LinkState> {
  const line = await log.waitForLine(what, (text) => {
    const state = parseState(text);
    return state !== undefined && match(state);
  }, timeoutMs);
  return JSON.parse(line) as LinkState;
}

/** A device that dials or listens, says "ready" once it has, then only waits. */
async function device(wire: VethWire, script: string): Promise<void> {
  await start(wire, "device", ["-e", script]).waitForLine("the device to be ready", (line) => line === "ready");
}

describe("a TCP device that loses power", () => {
  it("is reported gone within seconds, whether it dialled the box or the box dialled it", async () => {
    const wire = await VethWire.create();
    cleanup(() => wire.remove());
    const { box, device: monitor } = wire.address;

    // The monitor dials the box (HL7 senders usually do).
    const listening = start(wire, "box", [PROBE, "listen", box, "2575", String(KEEPALIVE_IDLE_MS)]);
    await listening.waitForLine("the box to listen", (line) => line.includes('"listening"'));
    await device(wire, `require("net").connect(2575, "${box}", () => console.log("ready"))`);
    await linkState(listening, "the monitor to dial in", (state) => state.connected, 10_000);

    // The box dials the monitor.
    await device(wire, `require("net").createServer(() => undefined).listen(2576, "${monitor}", () => console.log("ready"))`);
    const dialling = start(wire, "box", [PROBE, "connect", monitor, "2576", String(KEEPALIVE_IDLE_MS)]);
    await linkState(dialling, "the box to reach the monitor", (state) => state.connected, 10_000);

    const gone = (log: LineLog) => linkState(log, "the link to report the silent monitor gone", (state) => !state.connected, 20_000);
    const lost = [gone(listening), gone(dialling)];
    await wire.cut();
    for (const state of await Promise.all(lost)) {
      expect(state).toMatchObject({ connected: false, error: "the device stopped answering (no power, or its cable is out)" });
    }
  });
});
