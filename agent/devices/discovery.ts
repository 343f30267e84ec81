/**
 * Finding a peripheral's serial port by its USB identity. Pure matching over what the system
 * lists; the manager asks again before every (re)open, which is how hot-plug is handled.
 */
import type { UsbFingerprint } from "../../drivers/core/types.ts";

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
  /** A bridge chip's default ids (UsbFingerprint.generic): taken only when unambiguous. */
  generic?: true | undefined;
}

const fits = (port: ListedPort, match: UsbMatch) =>
  port.vendorId?.toLowerCase() === match.vendorId &&
  (match.productId === undefined || port.productId?.toLowerCase() === match.productId) &&
  (match.serialNumber === undefined || port.serialNumber === match.serialNumber);

/**
 * The first listed port that any of the matches fits (matches in order of preference). A generic
 * chip's ids without a serial number count only when exactly one port has them: with two CP210x
 * adapters plugged in, guessing could read one patient's oximeter as another's.
 */
export function findUsbPort(ports: readonly ListedPort[], matches: readonly UsbMatch[]): string | undefined {
  for (const match of matches) {
    const found = ports.filter((port) => fits(port, match));
    if (found.length === 1 || (found.length > 1 && !ambiguous(match))) return found[0]?.path;
  }
  return undefined;
}

/** Why findUsbPort found nothing although ports were there: a generic chip's ids on several. */
export function usbAmbiguity(ports: readonly ListedPort[], matches: readonly UsbMatch[]): string | undefined {
  for (const match of matches.filter(ambiguous)) {
    const found = ports.filter((port) => fits(port, match));
    if (found.length > 1) {
      return `${found.length} ports have the generic adapter ids ${match.vendorId}:${match.productId ?? "*"} (${found.map((port) => port.path).join(", ")}): give usb.serialNumber or a port`;
    }
  }
  return undefined;
}

const ambiguous = (match: UsbMatch) => match.generic === true && match.serialNumber === undefined;

/** What a peripheral's `usb` setting asks for: its own ids, or else the driver's known adapters. */
export function usbMatches(usb: { vendorId?: string | undefined; productId?: string | undefined; serialNumber?: string | undefined }, known: readonly UsbFingerprint[]): UsbMatch[] {
  const serialNumber = usb.serialNumber;
  if (usb.vendorId !== undefined) return [{ vendorId: usb.vendorId, productId: usb.productId, serialNumber }];
  // A maker's own ids before a generic chip's.
  const ordered = [...known.filter((fingerprint) => !fingerprint.generic), ...known.filter((fingerprint) => fingerprint.generic)];
  return ordered.map((fingerprint) => ({ vendorId: fingerprint.vendorId, productId: fingerprint.productId, serialNumber, ...(fingerprint.generic && { generic: true as const }) }));
}
