/** Every driver folder (named after the driver id) is registered, and ids and USB fingerprints are unique. */
import { readdir } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { DRIVERS } from "../../drivers/index.ts";

const NOT_DRIVERS = new Set(["serial", "net"]); // transports shared by the drivers

describe("driver registry", () => {
  it("registers every driver folder", async () => {
    const entries = await readdir(new URL("../../drivers/", import.meta.url), { withFileTypes: true });
    const folders = entries.filter((entry) => entry.isDirectory() && !NOT_DRIVERS.has(entry.name)).map((entry) => entry.name);
    // A driver's folder is named after its id.
    const registered = DRIVERS.map((driver) => driver.id);
    for (const folder of folders) expect(registered).toContain(folder);
  });

  it("has unique ids and USB fingerprints", () => {
    const ids = DRIVERS.map((driver) => driver.id);
    expect(new Set(ids).size).toBe(ids.length);
    const fingerprints = DRIVERS.flatMap((driver) => driver.usb.map((usb) => `${usb.vendorId}:${usb.productId}`));
    expect(new Set(fingerprints).size).toBe(fingerprints.length);
  });
});
