import { describe, expect, it } from "vitest";
import { findUsbPort } from "../../../agent/devices/discovery.ts";

const ports = [
  { path: "/dev/ttyS0" },
  { path: "/dev/ttyUSB0", vendorId: "0403", productId: "6001", serialNumber: "A1" },
  { path: "/dev/ttyUSB1", vendorId: "0403", productId: "6001", serialNumber: "B2" },
  { path: "/dev/ttyACM0", vendorId: "10C4", productId: "EA60" },
];

describe("findUsbPort", () => {
  it("finds a port by vendor and product id, case-insensitively", () => {
    expect(findUsbPort(ports, { vendorId: "10c4", productId: "ea60" })).toBe("/dev/ttyACM0");
  });

  it("tells two identical adapters apart by serial number", () => {
    expect(findUsbPort(ports, { vendorId: "0403", productId: "6001", serialNumber: "B2" })).toBe("/dev/ttyUSB1");
  });

  it("finds nothing when the device is not plugged in", () => {
    expect(findUsbPort(ports, { vendorId: "1234", productId: "5678" })).toBeUndefined();
  });
});
