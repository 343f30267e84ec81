// What the box page says about one box: availability from its history's online/offline
// transitions, its outages, its events and actions in words. Pure functions over the API's values
// (tools/fleet/model.ts: BoxRow, BoxHistoryEntry). No DOM here.
import { duration } from "./fleetWords.js";

const DAY_MS = 86_400_000;

/**
 * Periods of known state over [fromMs, nowMs]: from each transition to the next, the last up to
 * now. Before the first transition the state is not known (the service had not seen the box, or
 * its history was pruned), unless there is no transition at all: then the box has been as it is
 * since `row.since`.
 */
export function periodsOf(entries, row, fromMs, nowMs) {
  const transitions = entries.filter((entry) => entry.kind === "online" || entry.kind === "offline");
  const periods = [];
  if (transitions.length === 0) {
    const since = Math.max(fromMs, Date.parse(row.since));
    if (since < nowMs) periods.push({ from: since, to: nowMs, online: row.online, reason: row.offlineReason });
    return periods;
  }
  transitions.forEach((entry, index) => {
    const next = transitions[index + 1];
    const from = Math.max(fromMs, Date.parse(entry.at));
    const to = next ? Date.parse(next.at) : nowMs;
    if (to > from) periods.push({ from, to, online: entry.kind === "online", reason: entry.detail?.reason ?? null });
  });
  return periods;
}

/** Each of the last `days` local days, oldest first: `{day: Date at midnight, percent: 0–100 | null}` (null: nothing known). */
export function availabilityByDay(periods, nowMs, days = 30) {
  const today = new Date(nowMs);
  today.setHours(0, 0, 0, 0);
  const result = [];
  for (let back = days - 1; back >= 0; back -= 1) {
    const start = new Date(today);
    start.setDate(today.getDate() - back);
    const end = new Date(start);
    end.setDate(start.getDate() + 1);
    let known = 0;
    let online = 0;
    for (const period of periods) {
      const overlap = Math.min(period.to, end.getTime(), nowMs) - Math.max(period.from, start.getTime());
      if (overlap <= 0) continue;
      known += overlap;
      if (period.online) online += overlap;
    }
    result.push({ day: start, percent: known > 0 ? (100 * online) / known : null });
  }
  return result;
}

/** Over the whole span: the % of known time online, or null. */
export function availabilityOverall(periods) {
  const known = periods.reduce((total, period) => total + (period.to - period.from), 0);
  const online = periods.filter((period) => period.online).reduce((total, period) => total + (period.to - period.from), 0);
  return known > 0 ? (100 * online) / known : null;
}

/** The offline periods, newest first, in words: "3 Dec 02:10 – 02:55, 45 min (connection lost)". */
export function outageTexts(periods, nowMs) {
  return periods
    .filter((period) => !period.online)
    .reverse()
    .map((period) => {
      const to = period.to >= nowMs ? "now" : timeText(period.to, period.from);
      const why = period.reason === "connection-lost" ? " (connection lost)" : period.reason === "shutdown" ? " (shut down)" : period.reason === "silent" ? " (silent)" : "";
      return `${dateTimeText(period.from)} – ${to}, ${duration((period.to - period.from) / 60_000)}${why}`;
    });
}

export function percentText(percent) {
  if (percent === null) return "no data";
  return percent >= 99.95 || percent === 0 ? `${Math.round(percent)} %` : `${percent.toFixed(1)} %`;
}

/** One history entry in words (the box's own words where it has them). */
export function entryText(entry) {
  const detail = entry.detail ?? {};
  switch (entry.kind) {
    case "online":
      if (detail.reason === "heard-again") return "online: heard again";
      return `online${detail.version ? ` (version ${detail.version})` : ""}`;
    case "offline":
      if (detail.reason === "silent") return `offline: silent for ${detail.silentSec} s`;
      return `offline${detail.reason === "connection-lost" ? ": connection lost" : detail.reason === "shutdown" ? ": shut down" : ""}`;
    case "action": {
      const who = detail.cn ?? "someone (no roster)";
      const outcome = detail.code === "ok" || detail.code === "published" ? "" : ` → ${detail.code}`;
      const what = detail.command === "config.desired" ? `config version ${detail.version ?? "?"}${detail.code === "published" ? " published" : ""}` : detail.command;
      return `${who} (${detail.role}): ${what}${outcome}`;
    }
    default: {
      const extra = ["peripheral", "camera", "usedPercent", "reason", "error"].filter((key) => detail[key] !== undefined && detail[key] !== null).map((key) => `${key} ${String(detail[key])}`);
      return `${String(detail.type ?? "event")}${extra.length ? ` — ${extra.join(", ")}` : ""}`;
    }
  }
}

export function dateTimeText(ms) {
  return new Date(ms).toLocaleString("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

function timeText(ms, fromMs) {
  const sameDay = Math.floor(ms / DAY_MS) === Math.floor(fromMs / DAY_MS);
  return sameDay ? new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }) : dateTimeText(ms);
}

/** A log line of `logs.tail` as one line of text: time, level, message, the rest as key=value. */
export function logLineText(line) {
  const { time, level, msg, ...rest } = line ?? {};
  const fields = Object.entries(rest)
    .filter(([key]) => key !== "pid" && key !== "hostname")
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return `${String(time ?? "").replace("T", " ").replace(/\.\d+Z$/, "Z")} ${String(level ?? "").padEnd(5)} ${String(msg ?? "")}${fields.length ? `  ${fields.join(" ")}` : ""}`;
}

/** A fresh id for one action: the same on a retry of it, never another's. */
export function newRequestId() {
  // getRandomValues, not randomUUID: the page may be served over plain HTTP on a name (no secure context).
  return [...crypto.getRandomValues(new Uint8Array(16))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
