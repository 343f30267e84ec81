/**
 * The driver registry: every device family thea speaks, by id. Adding a driver means adding it
 * here (test/drivers/index.test.ts checks that every driver folder is registered).
 */
import { andBp } from "./and-bp/descriptor.ts";
import { bleHealth } from "./ble-health/descriptor.ts";
import { contecCms50 } from "./contec-cms50/descriptor.ts";
import { hl7Mllp } from "./hl7-mllp/descriptor.ts";
import { masimoAscii } from "./masimo-ascii/descriptor.ts";
import { nellcorAscii } from "./nellcor-ascii/descriptor.ts";
import { nonin } from "./nonin/descriptor.ts";
import { viscaDriver } from "./visca/descriptor.ts";
import type { Driver } from "./core/types.ts";

export const DRIVERS: readonly Driver[] = [nonin, contecCms50, masimoAscii, nellcorAscii, hl7Mllp, andBp, viscaDriver, bleHealth];

export function driverById(id: string): Driver | undefined {
  return DRIVERS.find((driver) => driver.id === id);
}

export const DRIVER_IDS = DRIVERS.map((driver) => driver.id);
