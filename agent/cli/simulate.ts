/**
 * `thea simulate DRIVER --port PATH [--scenario S] [--options JSON]`: plays a device on a serial
 * port (one end of a pseudo-terminal pair in the demo and the tests), byte for byte. The unplug
 * scenario closes the port for a while every so often, as a device that is switched off.
 */
import { driverById, DRIVER_IDS } from "../../drivers/index.ts";
import { openSerialPort, type PortLike } from "../../drivers/serial/link.ts";
import { SCENARIOS, type Scenario } from "../../drivers/simulation.ts";
import { messageOf } from "../errors.ts";
import { parseOptions } from "./decode.ts";

/** In the unplug scenario: send for this long, then stay away for this long. */
const PLUGGED_MS = 10_000;
const UNPLUGGED_MS = 5_000;

export interface SimulateArgs {
  driver: string | undefined;
  port: string | undefined;
  scenario: string | undefined;
  options: string | undefined;
}

export async function simulateCommand(args: SimulateArgs): Promise<number> {
  const driver = args.driver === undefined ? undefined : driverById(args.driver);
  const scenario = (args.scenario ?? "normal") as Scenario;
  const options = parseOptions(args.options);
  if (!driver || args.port === undefined || !SCENARIOS.includes(scenario) || !options.ok || driver.checkOptions(options.value).length > 0) {
    process.stderr.write(
      `usage: thea simulate <${DRIVER_IDS.join("|")}> --port PATH [--scenario ${SCENARIOS.join("|")}] [--options JSON]\n`,
    );
    return 2;
  }
  const simulator = driver.simulator(options.value, scenario);
  const path = args.port;
  const settings = driver.serialSettings(options.value);
  const listen = (opened: PortLike) => {
    opened.onData((bytes) => simulator.receive?.(bytes));
    return opened;
  };
  let port: PortLike | undefined = await openSerialPort(path, settings).then(listen, (error: unknown) => {
    process.stderr.write(`thea simulate: cannot open ${path}: ${messageOf(error)}\n`);
    return undefined;
  });
  if (!port) return 1;
  process.stderr.write(`simulating ${driver.id} (${scenario}) on ${path}\n`);

  let tick = 0;
  let pluggedSince = Date.now();
  const timer = setInterval(() => {
    if (scenario === "unplug" && port && Date.now() - pluggedSince >= PLUGGED_MS) {
      const closing = port;
      port = undefined;
      void closing.close();
      setTimeout(() => {
        void openSerialPort(path, settings).then((reopened) => {
          port = listen(reopened);
          pluggedSince = Date.now();
        });
      }, UNPLUGGED_MS);
    }
    port?.write(simulator.chunk(tick));
    tick += 1;
  }, simulator.intervalMs);

  return new Promise((resolve) => {
    const stop = () => {
      clearInterval(timer);
      void (port?.close() ?? Promise.resolve()).then(() => resolve(0));
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}
