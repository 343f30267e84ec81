/**
 * What the box page computes from a box's history (tools/fleet/page/boxWords.js, run here in Node
 * as the browser runs it): periods of known state from online/offline transitions, the share of
 * each day online, the outages in words, and history entries in words.
 */
import { describe, expect, it } from "vitest";

interface Period { from: number; to: number; online: boolean; reason: string | null }
interface Entry { deviceId: string; at: string; kind: string; detail: Record<string, unknown> }
interface Row { online: boolean; since: string; offlineReason: string | null }
interface BoxWords {
  periodsOf(entries: Entry[], row: Row, fromMs: number, nowMs: number): Period[];
  availabilityByDay(periods: Period[], nowMs: number, days?: number): Array<{ day: Date; percent: number | null }>;
  availabilityOverall(periods: Period[]): number | null;
  outageTexts(periods: Period[], nowMs: number): string[];
  entryText(entry: Entry): string;
  logLineText(line: Record<string, unknown>): string;
}

// A path the type checker does not follow: the page's plain JavaScript has no declarations.
const words = (await import(new URL("../../../tools/fleet/page/boxWords.js", import.meta.url).href)) as BoxWords;

const HOUR = 3_600_000;
/** Noon today, local time: yesterday is then a whole day before it. */
const noon = new Date();
noon.setHours(12, 0, 0, 0);
const now = noon.getTime();
const yesterday = new Date(noon);
yesterday.setDate(noon.getDate() - 1);
yesterday.setHours(0, 0, 0, 0);
const at = (ms: number) => new Date(ms).toISOString();
const entry = (ms: number, kind: string, detail: Record<string, unknown> = {}): Entry => ({ deviceId: "box-a", at: at(ms), kind, detail });

describe("the box page's availability", () => {
  it("counts each day's share online from the transitions, and leaves days before them unknown", () => {
    const y = yesterday.getTime();
    const entries = [entry(y, "online"), entry(y + 6 * HOUR, "offline", { reason: "connection-lost" }), entry(y + 12 * HOUR, "online"), entry(y + 13 * HOUR, "event", { type: "disk.usage-high" })];
    const periods = words.periodsOf(entries, { online: true, since: at(y + 12 * HOUR), offlineReason: null }, now - 30 * 24 * HOUR, now);
    expect(periods.map((period) => [period.online, (period.to - period.from) / HOUR])).toEqual([[true, 6], [false, 6], [true, (now - y) / HOUR - 12]]);
    const days = words.availabilityByDay(periods, now);
    expect(days).toHaveLength(30);
    expect(days.slice(0, 28).every((day) => day.percent === null)).toBe(true);
    expect(days[28]?.percent).toBe(75);
    expect(days[29]?.percent).toBe(100);
    expect(words.outageTexts(periods, now)).toEqual([expect.stringMatching(/– .*, 6 h \(connection lost\)$/)]);
  });

  it("takes a box with no transition in the window as it has been since its row says", () => {
    const periods = words.periodsOf([], { online: false, since: at(now - 2 * HOUR), offlineReason: "shutdown" }, now - 30 * 24 * HOUR, now);
    expect(periods).toEqual([{ from: now - 2 * HOUR, to: now, online: false, reason: "shutdown" }]);
    expect(words.availabilityOverall(periods)).toBe(0);
    expect(words.outageTexts(periods, now)).toEqual([expect.stringMatching(/– now, 2 h \(shut down\)$/)]);
    expect(words.availabilityOverall([])).toBeNull();
  });

  it("says events and actions in words", () => {
    expect(words.entryText(entry(now, "offline", { reason: "connection-lost" }))).toBe("offline: connection lost");
    expect(words.entryText(entry(now, "offline", { reason: "silent", silentSec: 36 }))).toBe("offline: silent for 36 s");
    expect(words.entryText(entry(now, "online", { reason: "heard-again" }))).toBe("online: heard again");
    expect(words.entryText(entry(now, "event", { type: "peripheral.disconnected", peripheral: "spo2", error: null }))).toBe("peripheral.disconnected — peripheral spo2");
    expect(words.entryText(entry(now, "action", { cn: "technician.minh", role: "technician", command: "agent.restart", code: "consultation-live" }))).toBe(
      "technician.minh (technician): agent.restart → consultation-live",
    );
    expect(words.entryText(entry(now, "action", { cn: null, role: "technician", command: "config.desired", code: "published", version: 3 }))).toBe(
      "someone (no roster) (technician): config version 3 published",
    );
    expect(words.logLineText({ level: "warn", time: "2026-12-03T10:00:01.123Z", msg: "x", pid: 1, peripheral: "spo2" })).toBe("2026-12-03 10:00:01Z warn  x  peripheral=spo2");
  });
});
