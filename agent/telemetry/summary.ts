/**
 * The retained `summary`: the box at a glance (issue 16), so a fleet page opened at any time sees
 * every box at once instead of waiting for the next health report. It is computed from what the
 * services already expose, kept under 1 kB, and its drifting figures are quantised so that noise
 * does not count as a change (each change costs a publish; docs/mqtt-api.md has the budget).
 */
import type { ClockSynchronized, HealthPayload, OutboxHealth, PeripheralState, SiteLabels, SummaryPayload } from "../core/api.ts";

/** The summary's bound: a fleet page fetches ~2,000 of them at once. */
export const SUMMARY_MAX_BYTES = 1024;
/** Ids of down peripherals listed by name; the rest are only counted. */
export const SUMMARY_MAX_DOWN_IDS = 8;

/** What the summary is made of, as the services expose it. */
export interface SummaryInputs {
  site: SiteLabels;
  onlineSince: Date;
  version: string;
  config: SummaryPayload["config"];
  update: string;
  clockSynchronized: ClockSynchronized;
  /** The last health report's figures; undefined before the first one. */
  health: Pick<HealthPayload, "cpu" | "disk"> | undefined;
  outbox: Pick<OutboxHealth, "depth" | "oldestPendingAgeSec">;
  peripherals: ReadonlyArray<Pick<PeripheralState, "peripheral" | "connected">>;
  consultations: number;
}

/** 5 °C bands: a CPU wanders by a degree or two from minute to minute; a fan failing moves it by tens. */
export function temperatureBand(celsius: number | null | undefined): number | null {
  return celsius === null || celsius === undefined || !Number.isFinite(celsius) ? null : Math.floor(celsius / 5) * 5;
}

/**
 * One significant figure, rounded down; below 10 is 0: a few entries in flight are the normal
 * traffic of live readings, not a backlog.
 */
export function backlogBand(depth: number): number {
  if (!(depth >= 10)) return 0;
  const magnitude = 10 ** Math.floor(Math.log10(depth));
  return Math.floor(depth / magnitude) * magnitude;
}

/** Lower bounds (minutes) of the age bands: an outage's backlog ages every minute, the summary does not. */
const AGE_BANDS_MIN = [0, 1, 5, 15, 60, 240, 1440, 10_080];

export function ageBandMinutes(ageSec: number | null): number | null {
  if (ageSec === null || !Number.isFinite(ageSec)) return null;
  const minutes = ageSec / 60;
  let band = 0;
  for (const bound of AGE_BANDS_MIN) if (minutes >= bound) band = bound;
  return band;
}

export function computeSummary(inputs: SummaryInputs): SummaryPayload {
  const disk = inputs.health?.disk;
  const down = inputs.peripherals.filter((peripheral) => !peripheral.connected).map((peripheral) => peripheral.peripheral);
  const listed = down.slice(0, SUMMARY_MAX_DOWN_IDS);
  return {
    site: { ...inputs.site },
    onlineSince: inputs.onlineSince.toISOString(),
    version: inputs.version,
    config: { ...inputs.config },
    update: inputs.update,
    clockSynchronized: inputs.clockSynchronized,
    cpuTempC: temperatureBand(inputs.health?.cpu.temperatureC),
    diskUsedPercent: disk && "usedPercent" in disk ? Math.round(disk.usedPercent) : null,
    outbox: { backlog: backlogBand(inputs.outbox.depth), oldestAgeMin: ageBandMinutes(inputs.outbox.oldestPendingAgeSec) },
    peripherals: {
      connected: inputs.peripherals.length - down.length,
      configured: inputs.peripherals.length,
      down: listed,
      ...(down.length > listed.length && { downMore: down.length - listed.length }),
    },
    consultations: inputs.consultations,
  };
}

/**
 * The summary as published, never over SUMMARY_MAX_BYTES: the schema caps each label at 64 bytes
 * and each peripheral id at 32 characters, which already fits; should it ever not (a longer
 * version string), down ids move into `downMore`, then the site labels are cut.
 */
export function encodeSummary(summary: SummaryPayload): string {
  let current = summary;
  let text = JSON.stringify(current);
  while (Buffer.byteLength(text) > SUMMARY_MAX_BYTES && current.peripherals.down.length > 0) {
    const { down, downMore = 0 } = current.peripherals;
    current = { ...current, peripherals: { ...current.peripherals, down: down.slice(0, -1), downMore: downMore + 1 } };
    text = JSON.stringify(current);
  }
  if (Buffer.byteLength(text) > SUMMARY_MAX_BYTES) {
    const cut = (label: string | undefined) => (label === undefined ? undefined : [...label].slice(0, 8).join(""));
    const site = Object.fromEntries(Object.entries(current.site).map(([key, label]) => [key, cut(label)]));
    current = { ...current, site, version: [...current.version].slice(0, 64).join("") };
    text = JSON.stringify(current);
  }
  return text;
}
