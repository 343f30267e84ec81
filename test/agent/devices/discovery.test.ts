import { describe, expect, it } from "vitest";
import { findUsbPort, usbAmbiguity, usbMatches } from "../../../agent/devices/discovery.ts";
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

  it("finds each wired driver's shipped adapter with usb: {}", () => {
    const known = (id: string) => driverById(id)?.usb ?? [];
    const xpod = [{ path: "/dev/ttyUSB7", vendorId: "0403", productId: "6001", serialNumber: "XP1" }];
    expect(findUsbPort(xpod, usbMatches({}, known("nonin")))).toBe("/dev/ttyUSB7");
    const cuff = [{ path: "/dev/ttyUSB3", vendorId: "0dbc", productId: "0003" }];
    expect(findUsbPort(cuff, usbMatches({}, known("and-bp")))).toBe("/dev/ttyUSB3");
    // RS-232-only devices ship no adapter: nothing to find them by.
    for (const id of ["masimo-ascii", "nellcor-ascii", "visca", "hl7-mllp"]) expect(known(id)).toEqual([]);
  });

  it("prefers a maker's own id to a generic chip's, whatever order the ports are listed in", () => {
    const listed = [
      { path: "/dev/ttyUSB0", vendorId: "0403", productId: "6001", serialNumber: "A1" },
      { path: "/dev/ttyACM1", vendorId: "1c3d", productId: "0040" },
    ];
    expect(findUsbPort(listed, usbMatches({}, driverById("nonin")?.usb ?? []))).toBe("/dev/ttyACM1");
  });

  it("does not guess between two adapters with the same generic chip, and says why; a serial number settles it", () => {
    const two = [...ports, { path: "/dev/ttyUSB9", vendorId: "10c4", productId: "ea60", serialNumber: "0002" }];
    const contec = driverById("contec-cms50")?.usb ?? [];
    expect(findUsbPort(two, usbMatches({}, contec))).toBeUndefined();
    expect(usbAmbiguity(two, usbMatches({}, contec))).toBe("2 ports have the generic adapter ids 10c4:ea60 (/dev/ttyACM0, /dev/ttyUSB9): give usb.serialNumber or a port");
    expect(findUsbPort(two, usbMatches({ serialNumber: "0002" }, contec))).toBe("/dev/ttyUSB9");
    // Two FTDI adapters (a camera's, a modem's) and no Nonin: the Xpod's generic ids match neither.
    expect(findUsbPort(ports.filter((port) => port.vendorId !== "1c3d"), usbMatches({}, driverById("nonin")?.usb ?? []))).toBeUndefined();
  });

  it("lets the config's own ids win over the driver's, and keeps its serial number", () => {
    expect(usbMatches({ vendorId: "0403", productId: "6001", serialNumber: "A1" }, [{ vendorId: "1c3d", note: "" }])).toEqual([
      { vendorId: "0403", productId: "6001", serialNumber: "A1" },
    ]);
    expect(usbMatches({ serialNumber: "X" }, [{ vendorId: "0dbc", productId: "0003", note: "" }])).toEqual([{ vendorId: "0dbc", productId: "0003", serialNumber: "X" }]);
  });
});
