/** Commands about the peripherals. (PTZ commands arrive with the visca driver.) */
import { z } from "zod";
import { defineCommand, type Command } from "../commands/command.ts";
import type { PeripheralManager } from "./manager.ts";

export function peripheralCommands(manager: PeripheralManager): Command[] {
  return [
    defineCommand({
      name: "peripherals.list",
      description: "Every configured peripheral with its driver, connection state and counters.",
      params: z.strictObject({}),
      run: () => ({ peripherals: manager.list() }),
    }),
  ];
}
