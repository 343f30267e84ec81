// One box's page (box.html?id=…): its state, availability over 30 days from its online/offline
// transitions, its events and the actions taken on it (newest first), its peripherals, the
// actions this person may take (boxActions.js), the config editor for technicians (boxConfig.js)
// and the box's console, framed from this same origin. Kept live by the fleet's event stream.
// Every value from the box is set as text, never as HTML.
import { BoxActions } from "./boxActions.js";
import { BoxConfig } from "./boxConfig.js";
import { availabilityByDay, availabilityOverall, dateTimeText, entryText, outageTexts, percentText, periodsOf } from "./boxWords.js";
import { agoText, reasonsText, siteText, stateOf } from "./fleetWords.js";

const DAY_MS = 86_400_000;
const $ = (id) => document.getElementById(id);
const deviceId = new URLSearchParams(location.search).get("id") ?? "";
const api = `/api/boxes/${encodeURIComponent(deviceId)}`;
let row;
let historyTimer;

function status(text, failed = false) {
  $("status").textContent = text;
  $("status").classList.toggle("lost", failed);
}

async function json(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

function showRow(next) {
  row = next;
  const now = Date.now();
  const state = stateOf(row);
  $("box-state").textContent = state;
  $("box-state").className = `badge ${state}`;
  $("fact-since").textContent = `${row.online ? "online" : "offline"} since ${dateTimeText(Date.parse(row.since))} (${agoText(row.since, now)})`;
  $("fact-version").textContent = row.summary?.version ?? "–";
  $("fact-site").textContent = siteText(row.site) || "–";
  const config = row.summary?.config;
  $("fact-config").textContent = config ? `version ${config.version}, ${config.state}${config.refusedVersion !== null ? `; version ${config.refusedVersion} refused` : ""}` : "–";
  $("fact-update").textContent = row.summary?.update ?? "–";
  $("fact-seen").textContent = agoText(row.lastSeenAt, now);
  $("reasons").textContent = reasonsText(row, now);
  const peripherals = row.summary?.peripherals;
  $("peripherals-summary").textContent = peripherals
    ? `${peripherals.connected} of ${peripherals.configured} connected${peripherals.down.length ? `; down: ${peripherals.down.join(", ")}` : ""}`
    : "not reported yet";
}

async function loadHistory() {
  const { entries } = await json(`${api}/history?days=30`);
  const now = Date.now();
  const periods = periodsOf(entries, row, now - 30 * DAY_MS, now);
  $("availability-total").textContent = percentText(availabilityOverall(periods));
  $("days").replaceChildren(
    ...availabilityByDay(periods, now).map(({ day, percent }) => {
      const bar = document.createElement("span");
      bar.className = percent === null ? "day unknown" : percent >= 99.9 ? "day full" : "day partial";
      bar.title = `${day.toLocaleDateString("en-GB", { day: "numeric", month: "short" })}: ${percentText(percent)} online`;
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.height = `${percent ?? 0}%`;
      bar.append(fill);
      return bar;
    }),
  );
  const outages = outageTexts(periods, now);
  $("outages").replaceChildren(...(outages.length ? outages : ["none in the last 30 days"]).map(textItem));
  $("events").replaceChildren(
    ...entries
      .slice()
      .reverse()
      .map((entry) => {
        const item = textItem(`${dateTimeText(Date.parse(entry.at))}  ${entryText(entry)}`);
        item.className = `entry ${entry.kind}`;
        return item;
      }),
  );
}

function textItem(text) {
  const item = document.createElement("li");
  item.textContent = text;
  return item;
}

function showPeripherals(list) {
  const body = $("peripherals-table").tBodies[0];
  body.replaceChildren(
    ...list.map((peripheral) => {
      const tr = document.createElement("tr");
      const cells = [peripheral.peripheral, peripheral.driver, peripheral.connected ? "yes" : "no", peripheral.since ? dateTimeText(Date.parse(peripheral.since)) : "–", String(peripheral.readings ?? 0), peripheral.lastError ?? ""];
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  $("peripherals-table").hidden = list.length === 0;
}

/**
 * The console (/console/, consoleRelay.ts): framed only when it is there for this person and this
 * box. Asked with the box's id: without one the console answers 400, and the frame never showed.
 */
async function showConsole() {
  const src = `/console/?device=${encodeURIComponent(deviceId)}`;
  const response = await fetch(src, { method: "HEAD" }).catch(() => undefined);
  if (!response?.ok) return;
  $("console-frame").src = src;
  $("console").hidden = false;
}

/** The fleet's event stream: this box's row as it changes; its history again shortly after. */
function follow() {
  const stream = new EventSource("/api/stream");
  stream.addEventListener("rows", (event) => {
    const changed = JSON.parse(event.data).rows.find((candidate) => candidate.deviceId === deviceId);
    if (!changed) return;
    showRow(changed);
    clearTimeout(historyTimer);
    historyTimer = setTimeout(() => void loadHistory().catch(() => undefined), 1_000);
  });
  stream.addEventListener("error", () => status(stream.readyState === EventSource.CLOSED ? "live updates refused; reload the page" : "live updates lost; reconnecting…", true));
  stream.addEventListener("open", () => status("live"));
}

async function start() {
  document.title = `thea box ${deviceId}`;
  $("box-id").textContent = deviceId;
  try {
    showRow(await json(api));
  } catch (error) {
    return status(`${deviceId || "(no id)"}: ${error.message}`, true);
  }
  const actions = new BoxActions(deviceId, showPeripherals);
  const allowed = await json(`${api}/actions`);
  actions.show(allowed);
  await loadHistory();
  follow();
  if (allowed.actions.some((action) => action.name === "peripherals.list")) {
    const button = document.querySelector('[data-action="peripherals.list"]');
    if (button) void actions.run("peripherals.list", button);
  }
  if (allowed.configure) {
    const config = new BoxConfig(deviceId);
    void config.load().catch((error) => status(`configuration: ${error.message}`, true));
    void config.showHints().catch(() => undefined);
  }
  void showConsole();
  // "since" and "last heard" count on between updates.
  setInterval(() => row && showRow(row), 30_000);
}

void start();
