/** Every driver folder (named after the driver id) is registered, and ids and USB fingerprints are unique. */
import { readdir } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { DRIVERS } from "../../drivers/index.ts";

const NOT_DRIVERS = new Set(["core", "serial", "net"]); // the driver contract, and transports shared by the drivers
// Protocol code with no link yet (none at the moment; ble-health was until the BlueZ link came).
const NOT_YET_REGISTERED = new Set<string>();

describe("driver registry", () => {
  it("registers every driver folder", async () => {
    const entries = await readdir(new URL("../../drivers/", import.meta.url), { withFileTypes: true });
    const folders = entries.filter((entry) => entry.isDirectory() && !NOT_DRIVERS.has(entry.name) && !NOT_YET_REGISTERED.has(entry.name)).map((entry) => entry.name);
    // A driver's folder is named after its id.
    const registered = DRIVERS.map((driver) => driver.id);
    for (const folder of folders) expect(registered).toContain(folder);
    // Once registered, a family leaves NOT_YET_REGISTERED (and is held to the contract suite).
    for (const folder of NOT_YET_REGISTERED) expect(registered).not.toContain(folder);
  });

  it("has unique ids and USB fingerprints, none claiming another driver's adapter", () => {
    const ids = DRIVERS.map((driver) => driver.id);
    expect(new Set(ids).size).toBe(ids.length);
    const fingerprints = DRIVERS.flatMap((driver) => driver.usb.map((usb) => ({ driver: driver.id, ...usb })));
    for (const a of fingerprints) {
      expect(a.vendorId).toMatch(/^[0-9a-f]{4}$/);
      if (a.productId !== undefined) expect(a.productId).toMatch(/^[0-9a-f]{4}$/);
      // A vendor-wide fingerprint overlaps every product of that vendor.
      const overlapping = fingerprints.filter((b) => b.vendorId === a.vendorId && (a.productId === undefined || b.productId === undefined || a.productId === b.productId));
      expect(overlapping, `${a.driver} ${a.vendorId}:${a.productId ?? "*"}`).toHaveLength(1);
    }
  });

  it("marks USB-serial bridge chips' ids generic and never claims a chip maker's whole vendor id", () => {
    // FTDI, Silicon Labs, Prolific, QinHeng (usb.ids): their ids are in countless unrelated adapters.
    const BRIDGE_VENDORS = new Set(["0403", "10c4", "067b", "1a86"]);
    for (const driver of DRIVERS) {
      for (const usb of driver.usb) {
        if (!BRIDGE_VENDORS.has(usb.vendorId)) continue;
        expect(usb.generic, `${driver.id} ${usb.vendorId}:${usb.productId ?? "*"}`).toBe(true);
        expect(usb.productId, `${driver.id} ${usb.vendorId}`).toBeDefined();
      }
    }
  });
});
