/**
 * Finding a peripheral's serial port by its USB identity. Pure matching over what the system
 * lists; the manager asks again before every (re)open, which is how hot-plug is handled.
 */
export interface ListedPort {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  serialNumber?: string | undefined;
}

export interface UsbMatch {
  vendorId: string;
  productId: string;
  serialNumber?: string | undefined;
}

export function findUsbPort(ports: readonly ListedPort[], match: UsbMatch): string | undefined {
  const found = ports.find(
    (port) =>
      port.vendorId?.toLowerCase() === match.vendorId &&
      port.productId?.toLowerCase() === match.productId &&
      (match.serialNumber === undefined || port.serialNumber === match.serialNumber),
  );
  return found?.path;
}
