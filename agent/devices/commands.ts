/**
 * Commands about the peripherals: peripherals.list, peripherals.rescan, and every command a
 * driver takes (ptz.move, …), which address a peripheral by id — optional when only one
 * peripheral takes it. Device commands exist for every registered driver, so peripherals added
 * by a remote config change are commanded without a restart.
 */
import { z } from "zod";
import { DRIVERS } from "../../drivers/index.ts";
import { DeviceCommandError, type DeviceCommandSpec } from "../../drivers/core/types.ts";
import { defineCommand, type Command } from "../commands/command.ts";
import { formatIssues } from "../config/load.ts";
import { TheaError } from "../core/errors.ts";
import type { PeripheralManager } from "./manager.ts";

export function peripheralCommands(manager: PeripheralManager): Command[] {
  return [
    defineCommand({
      name: "peripherals.list",
      description: "Every configured peripheral with its driver, connection state and counters.",
      params: z.strictObject({}),
      run: () => ({ peripherals: manager.list() }),
    }),
    defineCommand({
      name: "peripherals.rescan",
      description: "Look for every disconnected peripheral's device now (after replugging a cable) instead of waiting for the next retry.",
      params: z.strictObject({}),
      run: () => ({ rescanned: manager.rescan(), peripherals: manager.list() }),
    }),
    ...deviceCommandSpecs().map((spec) => deviceCommand(manager, spec)),
  ];
}

/** The distinct device commands of every registered driver. */
function deviceCommandSpecs(): DeviceCommandSpec[] {
  const specs = new Map<string, DeviceCommandSpec>();
  for (const spec of DRIVERS.flatMap((driver) => driver.commands)) specs.set(spec.name, spec);
  return [...specs.values()];
}

function deviceCommand(manager: PeripheralManager, spec: DeviceCommandSpec): Command {
  return defineCommand({
    name: spec.name,
    description: `${spec.description} Parameters: peripheral (optional when only one takes ${spec.name}).`,
    params: z.looseObject({ peripheral: z.string().optional() }),
    sideEffects: spec.sideEffects ?? false,
    run: async ({ peripheral, ...rest }) => {
      const target = peripheral ?? onlyPeripheralFor(manager, spec.name);
      const params = spec.params.safeParse(rest);
      if (!params.success) throw new TheaError("invalid-params", formatIssues(params.error.issues, new Map()).join("; "));
      try {
        return await manager.execute(target, spec.name, params.data);
      } catch (error) {
        if (error instanceof DeviceCommandError) throw new TheaError(error.code, error.message);
        throw error;
      }
    },
  });
}

function onlyPeripheralFor(manager: PeripheralManager, command: string): string {
  const candidates = manager.peripheralsFor(command);
  const [only] = candidates;
  if (candidates.length === 1 && only !== undefined) return only;
  throw new TheaError("invalid-params", `peripheral: required; ${command} is taken by ${candidates.join(", ") || "no configured peripheral"}`);
}
