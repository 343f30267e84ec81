import { describe, expect, it } from "vitest";
import { findUsbPort, usbMatches } from "../../../agent/devices/discovery.ts";
import { driverById } from "../../../drivers/index.ts";

const ports = [
  { path: "/dev/ttyS0" },
  { path: "/dev/ttyUSB0", vendorId: "0403", productId: "6001", serialNumber: "A1" },
  { path: "/dev/ttyUSB1", vendorId: "0403", productId: "6001", serialNumber: "B2" },
  { path: "/dev/ttyACM0", vendorId: "10C4", productId: "EA60" },
  { path: "/dev/ttyACM1", vendorId: "1c3d", productId: "0040" },
];

describe("findUsbPort", () => {
  it("finds a port by vendor and product id, case-insensitively", () => {
    expect(findUsbPort(ports, [{ vendorId: "10c4", productId: "ea60" }])).toBe("/dev/ttyACM0");
  });

  it("tells two identical adapters apart by serial number", () => {
    expect(findUsbPort(ports, [{ vendorId: "0403", productId: "6001", serialNumber: "B2" }])).toBe("/dev/ttyUSB1");
  });

  it("finds nothing when the device is not plugged in", () => {
    expect(findUsbPort(ports, [{ vendorId: "1234", productId: "5678" }])).toBeUndefined();
  });

  it("with no ids in the config, finds the driver's known adapters (a maker's vendor id matches any product)", () => {
    const nonin = driverById("nonin")?.usb ?? [];
    expect(findUsbPort(ports, usbMatches({}, nonin))).toBe("/dev/ttyACM1");
    const contec = driverById("contec-cms50")?.usb ?? [];
    expect(findUsbPort(ports, usbMatches({}, contec))).toBe("/dev/ttyACM0");
    expect(findUsbPort(ports, usbMatches({}, driverById("and-bp")?.usb ?? []))).toBeUndefined();
  });

  it("lets the config's own ids win over the driver's, and keeps its serial number", () => {
    expect(usbMatches({ vendorId: "0403", productId: "6001", serialNumber: "A1" }, [{ vendorId: "1c3d", note: "" }])).toEqual([
      { vendorId: "0403", productId: "6001", serialNumber: "A1" },
    ]);
    expect(usbMatches({ serialNumber: "X" }, [{ vendorId: "0dbc", productId: "0003", note: "" }])).toEqual([{ vendorId: "0dbc", productId: "0003", serialNumber: "X" }]);
  });
});
