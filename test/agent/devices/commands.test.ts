/**
 * The peripheral commands as the router runs them: a driver's command reaches the one peripheral
 * meant, its parameters checked by the driver's schema first, and a device's failure becomes an
 * answer with the device's code.
 */
import { describe, expect, it } from "vitest";
import { DRIVERS } from "../../../drivers/index.ts";
import { DeviceCommandError } from "../../../drivers/core/types.ts";
import { peripheralCommands } from "../../../agent/devices/commands.ts";
import type { PeripheralManager } from "../../../agent/devices/manager.ts";

function setUp(takers: string[], execute: (peripheral: string, command: string, params: unknown) => Promise<unknown> = async () => ({ done: true })) {
  const executed: [string, string, unknown][] = [];
  const manager = {
    peripheralsFor: () => takers,
    execute: (peripheral: string, command: string, params: unknown) => {
      executed.push([peripheral, command, params]);
      return execute(peripheral, command, params);
    },
    list: () => [],
    rescan: () => [],
  } as unknown as PeripheralManager;
  const commands = peripheralCommands(manager);
  const run = (name: string, params: unknown) => {
    const command = commands.find((candidate) => candidate.name === name);
    if (!command) throw new Error(`no ${name}`);
    return command.handle(params);
  };
  return { commands, executed, run };
}

describe("peripheral commands", () => {
  it("offers every registered driver's commands, keeping a driver's side effects", () => {
    const names = setUp([]).commands.map((command) => command.name);
    for (const spec of DRIVERS.flatMap((driver) => driver.commands)) expect(names).toContain(spec.name);
    expect(names).toEqual(expect.arrayContaining(["peripherals.list", "peripherals.rescan"]));
    expect(setUp([]).commands.find((command) => command.name === "bp.start")?.sideEffects).toBe(true);
    expect(setUp([]).commands.find((command) => command.name === "ptz.position")?.sideEffects).toBe(false);
  });

  it("runs on the only peripheral that takes the command when none is named, with the driver's defaults applied", async () => {
    const { executed, run } = setUp(["head"]);
    await expect(run("ptz.move", { direction: "left" })).resolves.toEqual({ done: true });
    expect(executed).toEqual([["head", "ptz.move", { direction: "left", speed: 8 }]]);
  });

  it("wants the peripheral named when several or none take the command, and says which", async () => {
    await expect(setUp(["head-1", "head-2"]).run("ptz.stop", {})).rejects.toMatchObject({ code: "invalid-params", message: "peripheral: required; ptz.stop is taken by head-1, head-2" });
    await expect(setUp([]).run("ptz.stop", {})).rejects.toMatchObject({ code: "invalid-params", message: expect.stringContaining("no configured peripheral") });
    const named = setUp(["head-1", "head-2"]);
    await named.run("ptz.stop", { peripheral: "head-2" });
    expect(named.executed).toEqual([["head-2", "ptz.stop", {}]]);
  });

  it("refuses parameters the driver does not take, naming the key, before the device is touched", async () => {
    const { executed, run } = setUp(["head"]);
    await expect(run("ptz.move", { direction: "sideways" })).rejects.toMatchObject({ code: "invalid-params", message: expect.stringMatching(/^direction: /) });
    await expect(run("ptz.stop", { speed: 3 })).rejects.toMatchObject({ code: "invalid-params" });
    await expect(run("ptz.stop", { peripheral: 7 })).rejects.toMatchObject({ code: "invalid-params" });
    expect(executed).toEqual([]);
  });

  it("turns a device's failure into an answer with the device's code, and lets anything else through as it is", async () => {
    const timedOut = setUp(["head"], async () => {
      throw new DeviceCommandError("device-timeout", "no completion within 3000 ms");
    });
    await expect(timedOut.run("ptz.position", {})).rejects.toMatchObject({ name: "TheaError", code: "device-timeout", message: "no completion within 3000 ms" });
    const bug = new TypeError("a bug");
    const broken = setUp(["head"], async () => {
      throw bug;
    });
    await expect(broken.run("ptz.position", {})).rejects.toBe(bug);
  });
});
