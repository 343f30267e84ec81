/**
 * Real devices bend the specifications; rather than a decoder that accepts anything, each known
 * bend is a named quirk, switched on only for the models it was seen on (matched by the Device
 * Information Service's Manufacturer Name String 0x2A29 and Model Number String 0x2A24). Without a
 * matching quirk, a value that breaks its specification is discarded and counted.
 */

export const QUIRK_IDS = [
  /** Reserved (RFU) flag bits are set: ignore them instead of discarding the value. */
  "ignore-reserved-flags",
  /** A Date Time follows although the flags say there is none (the value is 7 octets longer). */
  "timestamp-despite-flag",
  /** SFLOATs arrive high byte first. */
  "big-endian-sfloat",
] as const;
export type QuirkId = (typeof QUIRK_IDS)[number];

export interface QuirkEntry {
  /** Manufacturer Name String, compared exactly after trimming. */
  manufacturer: string;
  /** Model Number String, compared exactly after trimming; absent: every model of the maker. */
  model?: string;
  quirks: readonly QuirkId[];
  /** Where the bend was seen (a capture in test/fixtures/, a firmware version). */
  evidence: string;
}

/**
 * Known devices. Empty until a capture of a real device shows a bend: each entry is added with
 * that capture as a test fixture (none has been recorded yet; see docs/drivers.md).
 */
export const QUIRKS: readonly QuirkEntry[] = [];

export interface DeviceIdentity {
  manufacturer?: string;
  model?: string;
}

/** The quirks for a device: every entry its manufacturer (and model, where the entry names one) matches. */
export function quirksFor(device: DeviceIdentity, table: readonly QuirkEntry[] = QUIRKS): QuirkId[] {
  const manufacturer = device.manufacturer?.trim();
  const model = device.model?.trim();
  const found = table.filter((entry) => entry.manufacturer === manufacturer && (entry.model === undefined || entry.model === model));
  return [...new Set(found.flatMap((entry) => entry.quirks))];
}
