/**
 * Real devices bend the specifications; rather than a decoder that accepts anything, each known
 * bend is a named quirk, switched on only for the models it was seen on: matched by the Device
 * Information Service's Manufacturer Name String (0x2A29) and Model Number String (0x2A24), or by
 * the name the device advertises (GAP Local Name) where that is all a public source gives.
 * Without a matching quirk, a value that breaks its specification is discarded and counted.
 */

export const QUIRK_IDS = [
  /** Reserved (RFU) flag bits are set: ignore them instead of discarding the value. */
  "ignore-reserved-flags",
  /** A Date Time follows although the flags say there is none (the value is 7 octets longer). */
  "timestamp-despite-flag",
  /** Blood pressure: a User ID follows although flag bit 3 is clear (the value is 1 octet longer). */
  "user-id-despite-flag",
  /** Every SFLOAT arrives high byte first. */
  "big-endian-sfloat",
  /** Blood pressure: the Pulse Rate (SFLOAT) and Measurement Status (uint16) arrive high byte first; the pressures do not. */
  "big-endian-pulse-and-status",
  /** Blood pressure: a mean arterial pressure of 0 means "not measured" (the device sends 0, not NaN). */
  "mean-pressure-zero-absent",
] as const;
export type QuirkId = (typeof QUIRK_IDS)[number];

export interface QuirkEntry {
  /** Manufacturer Name String, compared exactly after trimming. */
  manufacturer?: string;
  /** Model Number String, compared exactly after trimming; absent: every model of the maker. */
  model?: string;
  /** The advertised Local Name, compared exactly after trimming (instead of manufacturer and model). */
  advertisedName?: string;
  quirks: readonly QuirkId[];
  /** Where the bend was seen: a public capture or bug report, with what it shows. */
  evidence: string;
}

/**
 * Known devices, each with a public source for its bends (also in docs/drivers.md). Quirks with
 * no such source (timestamp-despite-flag, big-endian-sfloat) are implemented and tested but no
 * model has them yet.
 */
export const QUIRKS: readonly QuirkEntry[] = [
  {
    advertisedName: "Beurer BM85",
    quirks: ["ignore-reserved-flags", "user-id-despite-flag", "big-endian-pulse-and-status", "mean-pressure-zero-absent"],
    evidence:
      "derdilla/blood-pressure-monitor-fl PR #735 and #737 (2026-08): four Blood Pressure Measurement values recorded from a " +
      "Beurer BM85 (advertised as 'Beurer BM85', docs/bluetooth.md there), e.g. 56 6A 00 47 00 00 00 EA 07 08 0B 12 1F 00 00 3F 00 00 00: " +
      "flags 0x56 (reserved bit 6 set, User ID flag clear), 106/71 mmHg, mean pressure 0, pulse 00 3F (63, high byte first), " +
      "User ID 0, status 00 00 (high byte first; 00 04 = irregular pulse in another capture)",
  },
];

export interface DeviceIdentity {
  manufacturer?: string;
  model?: string;
  advertisedName?: string;
}

function matches(entry: QuirkEntry, device: DeviceIdentity): boolean {
  if (entry.advertisedName !== undefined) return entry.advertisedName === device.advertisedName?.trim();
  return entry.manufacturer !== undefined && entry.manufacturer === device.manufacturer?.trim() && (entry.model === undefined || entry.model === device.model?.trim());
}

/** The quirks for a device: every entry its advertised name, or its manufacturer (and model, where the entry names one), matches. */
export function quirksFor(device: DeviceIdentity, table: readonly QuirkEntry[] = QUIRKS): QuirkId[] {
  return [...new Set(table.filter((entry) => matches(entry, device)).flatMap((entry) => entry.quirks))];
}
