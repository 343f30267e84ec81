/**
 * `thea simulate DRIVER (--port PATH | --tcp-connect HOST:PORT | --tcp-listen HOST:PORT)
 * [--scenario S] [--options JSON]`: plays a device, byte for byte, on a serial port (one end of a
 * pseudo-terminal pair in the demo and the tests) or over TCP. The unplug scenario drops the line
 * for a while every so often, as a device that is switched off.
 */
import { driverById, DRIVER_IDS } from "../drivers/index.ts";
import { parseEndpoint, TcpLink } from "../drivers/net/tcpLink.ts";
import { UdpLink } from "../drivers/net/udpLink.ts";
import { SerialLink, type ByteLink } from "../drivers/serial/link.ts";
import { SCENARIOS, type Scenario } from "../drivers/core/simulation.ts";
import type { SerialSettings } from "../drivers/core/types.ts";
import { parseOptions } from "./decode.ts";
import { stopSignal } from "../lib/stopSignal.ts";

/** In the unplug scenario: send for this long, then stay away for this long. */
const PLUGGED_MS = 10_000;
const UNPLUGGED_MS = 5_000;

export interface SimulateArgs {
  driver: string | undefined;
  port: string | undefined;
  tcpConnect: string | undefined;
  tcpListen: string | undefined;
  udpBind: string | undefined;
  scenario: string | undefined;
  options: string | undefined;
  /** Play faster than real time (benchmarks): 50 sends fifty times as often. */
  speed?: string | undefined;
}

const USAGE = `usage: thea simulate <${DRIVER_IDS.join("|")}> (--port PATH | --tcp-connect HOST:PORT | --tcp-listen HOST:PORT | --udp-bind HOST:PORT) [--scenario ${SCENARIOS.join("|")}] [--options JSON] [--speed N]\n`;

export async function simulateCommand(args: SimulateArgs): Promise<number> {
  const driver = args.driver === undefined ? undefined : driverById(args.driver);
  const scenario = (args.scenario ?? "normal") as Scenario;
  const options = parseOptions(args.options);
  const speed = Number(args.speed ?? 1);
  if (!Number.isFinite(speed) || speed <= 0 || speed > 1000) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (!driver || !SCENARIOS.includes(scenario) || !options.ok || driver.checkOptions(options.value).length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  const link = linkFor(args, () => driver.serialSettings(options.value));
  if (!link) {
    process.stderr.write(USAGE);
    return 2;
  }
  const simulator = driver.simulator(options.value, scenario);
  link.on("data", (bytes) => {
    const answer = simulator.receive?.(bytes);
    if (answer && answer.length > 0) link.write(answer);
  });
  link.on("state", (state) => {
    process.stderr.write(state.connected ? `connected: ${state.path}\n` : `not connected: ${state.error ?? "unplugged"}\n`);
  });
  link.start();
  // Listening before saying "simulating": whoever starts the simulator may stop it at once (lib/stopSignal.ts).
  const stopped = stopSignal();
  process.stderr.write(`simulating ${driver.id} (${scenario})\n`);

  let tick = 0;
  let pluggedSince = Date.now();
  let unplugged = false;
  const timer = setInterval(() => {
    if (scenario === "unplug" && !unplugged && Date.now() - pluggedSince >= PLUGGED_MS) {
      unplugged = true;
      void link.stop();
      setTimeout(() => {
        unplugged = false;
        pluggedSince = Date.now();
        link.start();
      }, UNPLUGGED_MS);
    }
    const chunk = simulator.chunk(tick);
    if (chunk.length > 0) link.write(chunk);
    tick += 1;
  }, simulator.intervalMs / speed);

  await stopped;
  clearInterval(timer);
  await link.stop();
  return 0;
}

function linkFor(args: SimulateArgs, settings: () => SerialSettings): ByteLink | undefined {
  const chosen = [args.port, args.tcpConnect, args.tcpListen, args.udpBind].filter((value) => value !== undefined);
  if (chosen.length !== 1) return undefined;
  if (args.port !== undefined) {
    const path = args.port;
    return new SerialLink({ resolvePath: async () => path, settings: settings() });
  }
  const endpoint = parseEndpoint(args.tcpConnect ?? args.tcpListen ?? args.udpBind ?? "");
  if (!endpoint) return undefined;
  if (args.udpBind !== undefined) return new UdpLink("bind", endpoint);
  return new TcpLink(args.tcpConnect !== undefined ? "connect" : "listen", endpoint);
}
