/**
 * What the benchmarks add to the test harness they share (test/helpers: mosquitto, pty pairs,
 * device simulators, the agent process): a simulated device in one call, and the agent's process
 * figures read from /proc. Benchmarks print figures and assert nothing.
 */
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PtyPair } from "../../test/helpers/ptyPair.ts";
import { SimulatorProcess } from "../../test/helpers/simulatorProcess.ts";

/** A device simulator on the far end of a fresh pty pair, `speed` times its real rate. */
export async function simulatedDevice(name: string, driver: string, speed = 1): Promise<{ port: string; stop: () => Promise<void> }> {
  const pty = new PtyPair(await mkdtemp(path.join(tmpdir(), "thea-bench-")), name);
  await pty.open();
  const simulator = await SimulatorProcess.start(driver, pty.deviceEnd, "normal", ["--speed", String(speed)]);
  return {
    port: pty.agentEnd,
    stop: async () => {
      await simulator.stop();
      await pty.close();
    },
  };
}

/** Resident memory and open descriptors of a process (the node process bin/thea execs into). */
export async function processFigures(pid: number): Promise<{ rssMb: number; anonMb: number; fds: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const mb = (field: string) => Math.round((Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024) * 10) / 10;
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  // RssAnon: the heaps (V8's and malloc's), apart from the mapped code of the binary and libraries.
  return { rssMb: mb("VmRSS"), anonMb: mb("RssAnon"), fds };
}
