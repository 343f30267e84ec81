/**
 * Is the system clock synchronised? Clinic boxes often have no battery-backed clock and boot
 * in 1970 or at the last shutdown time until NTP catches up; consumers must know when the box's
 * timestamps are guesses.
 */
import { execFile } from "node:child_process";
import { access } from "node:fs/promises";
import type { ClockSynchronized } from "../core/api.ts";

export interface ClockProbe {
  /** Touched by systemd-timesyncd once it has synchronised (systemd-timesyncd.service(8)). */
  timesyncdFlag: string;
  /** Asks timedated, which reads the kernel's NTP state (works with chrony or ntpd too). */
  timedatectl: () => Promise<string | undefined>;
}

export const defaultClockProbe: ClockProbe = {
  timesyncdFlag: "/run/systemd/timesync/synchronized",
  timedatectl: () =>
    new Promise((resolve) => {
      execFile("timedatectl", ["show", "--property=NTPSynchronized", "--value"], { timeout: 3000 }, (error, stdout) =>
        resolve(error ? undefined : stdout),
      );
    }),
};

export async function readClockSynchronized(probe: ClockProbe = defaultClockProbe): Promise<ClockSynchronized> {
  try {
    await access(probe.timesyncdFlag);
    return true;
  } catch {
    // No flag file: timesyncd is absent or not yet synchronised; ask timedated instead.
  }
  return parseNtpSynchronized(await probe.timedatectl());
}

/** `timedatectl show --property=NTPSynchronized --value` prints yes or no. */
export function parseNtpSynchronized(output: string | undefined): ClockSynchronized {
  const answer = output?.trim();
  if (answer === "yes") return true;
  if (answer === "no") return false;
  return null;
}
