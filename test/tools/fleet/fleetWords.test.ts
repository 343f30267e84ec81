/** What the fleet page says of a box's row (tools/fleet/page/fleetWords.js, run here in Node as the browser runs it). */
import { describe, expect, it } from "vitest";

interface Row { online: boolean; since: string; offlineReason: string | null; lastSeenAt: string; attention: Array<{ kind: string; forMin?: number }> }
interface FleetWords {
  reasonsText(row: Row, now: number): string;
}

// A path the type checker does not follow: the page's plain JavaScript has no declarations.
const words = (await import(new URL("../../../tools/fleet/page/fleetWords.js", import.meta.url).href)) as FleetWords;

const T0 = Date.parse("2026-12-03T12:00:00.000Z");
const iso = (ms: number) => new Date(T0 + ms).toISOString();

describe("the fleet page's words for a row", () => {
  it("says for how long a box taken offline for silence has not been heard, and keeps the other reasons after it", () => {
    const silent: Row = { online: false, since: iso(36_000), offlineReason: "silent", lastSeenAt: iso(0), attention: [] };
    expect(words.reasonsText(silent, T0 + 40_000)).toBe("silent for 40 s");
    expect(words.reasonsText({ ...silent, attention: [{ kind: "offline", forMin: 11 }] }, T0 + 11.5 * 60_000)).toBe("silent for 11 min · offline 11 min");
    expect(words.reasonsText({ ...silent, offlineReason: "connection-lost" }, T0 + 40_000)).toBe("");
  });
});
