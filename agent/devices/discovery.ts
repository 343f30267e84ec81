/**
 * Finding a peripheral's serial port by its USB identity. Pure matching over what the system
 * lists; the manager asks again before every (re)open, which is how hot-plug is handled.
 */
import type { UsbFingerprint } from "../../drivers/types.ts";

export interface ListedPort {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  serialNumber?: string | undefined;
}

export interface UsbMatch {
  vendorId: string;
  /** Absent: any product of that vendor (a medical maker's own vendor id). */
  productId?: string | undefined;
  serialNumber?: string | undefined;
}

/** The first listed port that any of the matches fits (matches in order of preference). */
export function findUsbPort(ports: readonly ListedPort[], matches: readonly UsbMatch[]): string | undefined {
  for (const match of matches) {
    const found = ports.find(
      (port) =>
        port.vendorId?.toLowerCase() === match.vendorId &&
        (match.productId === undefined || port.productId?.toLowerCase() === match.productId) &&
        (match.serialNumber === undefined || port.serialNumber === match.serialNumber),
    );
    if (found) return found.path;
  }
  return undefined;
}

/** What a peripheral's `usb` setting asks for: its own ids, or else the driver's known adapters. */
export function usbMatches(usb: { vendorId?: string | undefined; productId?: string | undefined; serialNumber?: string | undefined }, known: readonly UsbFingerprint[]): UsbMatch[] {
  const serialNumber = usb.serialNumber;
  if (usb.vendorId !== undefined) return [{ vendorId: usb.vendorId, productId: usb.productId, serialNumber }];
  return known.map((fingerprint) => ({ vendorId: fingerprint.vendorId, productId: fingerprint.productId, serialNumber }));
}
