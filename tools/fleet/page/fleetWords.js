// What the fleet page says about a box, and in which order it lists them: pure functions over the
// API's rows (tools/fleet/model.ts, BoxRow). No DOM here.

/** Update states in which a box is not updating (agent/update/state.ts, TERMINAL). */
const SETTLED_UPDATE = new Set(["idle", "committed", "rolled-back", "failed"]);

export function isUpdating(row) {
  return row.summary !== null && !SETTLED_UPDATE.has(row.summary.update);
}

/** The one word of the state column: offline beats attention beats updating. */
export function stateOf(row) {
  if (!row.online) return "offline";
  if (row.attention.length > 0) return "attention";
  return isUpdating(row) ? "updating" : "online";
}

/** "42 min", "3 h 5 min", "2 d 4 h". */
export function duration(minutes) {
  const m = Math.max(0, Math.floor(minutes));
  if (m < 60) return `${m} min`;
  if (m < 1440) return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ""}`;
  return `${Math.floor(m / 1440)} d${Math.floor((m % 1440) / 60) ? ` ${Math.floor((m % 1440) / 60)} h` : ""}`;
}

/** One attention reason in words; an offline box's time counts on from `since`. */
export function reasonText(reason, row, now) {
  switch (reason.kind) {
    case "offline":
      return `offline ${duration(Math.max(reason.forMin, (now - Date.parse(row.since)) / 60_000))}`;
    case "peripheral-down":
      return `peripheral down: ${reason.ids.join(", ")}${reason.more > 0 ? ` (+${reason.more} more)` : ""}`;
    case "disk-full":
      return `disk ${reason.usedPercent} %`;
    case "outbox-stale":
      return `readings waiting ${duration(reason.oldestAgeMin)}`;
    case "clock-unsynchronized":
      return "clock not synchronised";
    case "update-failed":
      return `update ${reason.state}`;
    case "config-refused":
      return `config v${reason.version} refused`;
    default:
      return String(reason.kind);
  }
}

/**
 * The row's reasons in words; a box taken offline for silence (fleet.ts) says first for how long
 * it has not been heard ("silent for 35 s"), from when it was last heard (`lastSeenAt`).
 */
export function reasonsText(row, now) {
  const texts = row.attention.map((reason) => reasonText(reason, row, now));
  if (!row.online && row.offlineReason === "silent") texts.unshift(`silent for ${silenceText(row.lastSeenAt, now)}`);
  return texts.join(" · ");
}

function silenceText(iso, now) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return seconds < 60 ? `${seconds} s` : duration(seconds / 60);
}

export function siteText(site) {
  return [site.province, site.district, site.commune].filter(Boolean).join(" / ");
}

/** "12 s ago", "5 min ago". */
export function agoText(iso, now) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return seconds < 60 ? `${seconds} s ago` : `${duration(seconds / 60)} ago`;
}

/**
 * Most urgent first, as the fleet service orders them (tools/fleet/model.ts, FleetView): boxes
 * needing attention, the offline ones first and longest offline first, then the rest by id.
 */
export function compareUrgency(a, b) {
  const aUrgent = a.attention.length > 0;
  const bUrgent = b.attention.length > 0;
  if (aUrgent !== bUrgent) return aUrgent ? -1 : 1;
  if (aUrgent && a.online !== b.online) return a.online ? 1 : -1;
  if (aUrgent && !a.online && a.since !== b.since) return a.since < b.since ? -1 : 1;
  return a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
}

/** Whether a row passes the page's filters (FleetQuery's meaning: labels exactly, `q` in the id or a label). */
export function matches(row, filter) {
  const site = row.site;
  if (filter.province && site.province !== filter.province) return false;
  if (filter.district && site.district !== filter.district) return false;
  if (filter.commune && site.commune !== filter.commune) return false;
  if (filter.version && row.summary?.version !== filter.version) return false;
  if (filter.state) {
    const ok =
      filter.state === "online" ? row.online : filter.state === "offline" ? !row.online : filter.state === "attention" ? row.attention.length > 0 : isUpdating(row);
    if (!ok) return false;
  }
  if (filter.q) {
    const q = filter.q.toLowerCase();
    const fields = [row.deviceId, site.province, site.district, site.commune];
    if (!fields.some((field) => typeof field === "string" && field.toLowerCase().includes(q))) return false;
  }
  return true;
}
