/**
 * Whether a verified manifest may be acted on by this box now: its selector, its expiry, the
 * anti-rollback floor and the running version. Pure: the box's situation is passed in.
 */
import type { ClockSynchronized } from "../core/api.ts";
import { compareVersions, type Manifest } from "./manifest.ts";
import type { UpdateResult } from "./state.ts";

export interface BoxSituation {
  deviceId: string;
  channel: string;
  running: string;
  /** The anti-rollback floor (update/floor.json), undefined before the first commit. */
  floor: string | undefined;
  now: Date;
  clockSynchronized: ClockSynchronized;
}

export type Admission =
  | { ok: true }
  /** `settle`: the refusal holds for good (the digest is never tried again); otherwise it is looked at again later. */
  | { ok: false; result: UpdateResult; reason: string; settle: boolean };

export function admit(manifest: Manifest, box: BoxSituation): Admission {
  if (manifest.channels && !manifest.channels.includes(box.channel)) {
    return refuse("not-for-this-box", `for channel(s) ${manifest.channels.join(", ")}; this box follows ${box.channel} (update.channel)`, false);
  }
  if (manifest.devices && !manifest.devices.includes(box.deviceId)) return refuse("not-for-this-box", `for ${manifest.devices.length} listed box(es); ${box.deviceId} is not among them`, false);
  const synchronized = box.clockSynchronized === true;
  if (manifest.expiresAt !== undefined && Date.parse(manifest.expiresAt) <= box.now.getTime()) {
    // A clock that is wrong (ahead) would refuse a good manifest for good: only a trusted clock settles it.
    return refuse("expired", `expired at ${manifest.expiresAt}; this box's clock says ${box.now.toISOString()}${synchronized ? "" : " (not synchronised)"}`, synchronized);
  }
  const below = (version: string | undefined) => version !== undefined && compareVersions(manifest.version, version) < 0;
  if (below(box.floor) || below(box.running)) {
    const what = below(box.floor) ? `below this box's floor ${box.floor}` : `older than the running ${box.running}`;
    // The schema already demands an expiry with allowDowngrade; this does not rely on it.
    if (!manifest.allowDowngrade || manifest.expiresAt === undefined) {
      return refuse(below(box.floor) ? "below-floor" : "downgrade", `${manifest.version} is ${what}; the manifest does not allow a downgrade (allowDowngrade with expiresAt)`, true);
    }
    // A box without a battery-backed clock may boot in 1970, where every expiry lies ahead: a
    // downgrade, the one thing an expiry guards, waits for a clock that NTP has set.
    if (!synchronized) return refuse("clock-unsynchronized", `${manifest.version} is ${what}; a downgrade needs a synchronised clock to judge its expiry (${manifest.expiresAt}); waiting for NTP`, false);
  }
  if (manifest.minVersion && compareVersions(box.running, manifest.minVersion) < 0) {
    return refuse("below-min-version", `${manifest.version} needs ${manifest.minVersion} or later first; running ${box.running}`, true);
  }
  return { ok: true };
}

function refuse(result: UpdateResult, reason: string, settle: boolean): Admission {
  return { ok: false, result, reason, settle };
}
