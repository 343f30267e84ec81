// The fleet page: the counts, and every box most urgent first, kept live from /api/stream.
// The whole fleet is loaded once (2,050 rows, about a megabyte) and filtered here, so a changed
// row that enters or leaves the filter needs no second request. Stream batches are applied
// together at the next animation frame; the table draws only the rows in view (fleetTable.js).
import { FleetTable } from "./fleetTable.js";
import { compareUrgency, matches, siteText } from "./fleetWords.js";

const $ = (id) => document.getElementById(id);
const FILTERS = ["province", "district", "commune", "version", "state"];

const boxes = new Map();
let ordered = [];
let pending = [];
let loaded = false;
let applyScheduled = false;
const table = new FleetTable($("list"), $("spacer"));

function filterOf() {
  const filter = { q: $("search").value.trim() };
  for (const name of FILTERS) filter[name] = $(`filter-${name}`).value;
  return filter;
}

function showCounts(counts) {
  for (const name of ["online", "offline", "attention", "updating", "total"]) $(`count-${name}`).textContent = String(counts[name]);
}

function showStatus(text, lost = false) {
  $("status").textContent = text;
  $("status").className = lost ? "lost" : "";
}

/** Keeps each select's choices to the values the fleet has, keeping what is chosen. */
function refreshChoices() {
  const values = { province: new Set(), district: new Set(), commune: new Set(), version: new Set() };
  for (const row of ordered) {
    for (const label of ["province", "district", "commune"]) if (row.site[label]) values[label].add(row.site[label]);
    if (row.summary) values.version.add(row.summary.version);
  }
  for (const [name, set] of Object.entries(values)) {
    const select = $(`filter-${name}`);
    const chosen = select.value;
    const wanted = ["", ...[...set].sort()];
    const have = [...select.options].map((option) => option.value);
    if (have.join("\n") === wanted.join("\n")) continue;
    select.replaceChildren(...wanted.map((value) => new Option(value === "" ? "any" : value, value)));
    select.value = wanted.includes(chosen) ? chosen : "";
  }
}

function redraw() {
  const filter = filterOf();
  const shown = ordered.filter((row) => matches(row, filter));
  table.show(shown);
  $("list").dataset.shown = String(shown.length);
  showStatus(`showing ${shown.length} of ${ordered.length} boxes${loaded ? "" : " (loading)"}`);
}

/** A stream row older than what the page holds (sent before the list it loaded) is not applied. */
function newer(row, held) {
  const stamp = (r) => (r.lastSeenAt > r.since ? r.lastSeenAt : r.since);
  return held === undefined || stamp(row) >= stamp(held);
}

function applyPending() {
  applyScheduled = false;
  if (!loaded) return;
  let reorder = false;
  for (const batch of pending.splice(0)) {
    for (const row of batch.rows) {
      const held = boxes.get(row.deviceId);
      if (!newer(row, held)) continue;
      reorder ||= held === undefined || compareUrgency(row, held) !== 0 || siteText(row.site) !== siteText(held.site);
      boxes.set(row.deviceId, row);
    }
    for (const id of batch.removed) reorder ||= boxes.delete(id);
    showCounts(batch.counts);
  }
  // A row whose rank did not move is replaced where it is; only a move costs a sort.
  ordered = reorder ? [...boxes.values()].sort(compareUrgency) : ordered.map((row) => boxes.get(row.deviceId) ?? row);
  if (reorder) refreshChoices();
  redraw();
}

async function load() {
  loaded = false;
  const [list, counts] = await Promise.all(["api/boxes", "api/counts"].map((path) => fetch(path).then((response) => {
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  })));
  boxes.clear();
  for (const row of list.rows) boxes.set(row.deviceId, row);
  ordered = [...boxes.values()].sort(compareUrgency);
  loaded = true;
  showCounts(counts);
  refreshChoices();
  applyPending();
}

/** Opens the stream first and loads the list once it is open, so no change falls between the two. */
function connect() {
  const stream = new EventSource("api/stream");
  stream.addEventListener("open", () => {
    load().catch((error) => showStatus(`could not load the fleet: ${error.message}`, true));
  });
  stream.addEventListener("rows", (event) => {
    pending.push(JSON.parse(event.data));
    if (applyScheduled) return;
    applyScheduled = true;
    requestAnimationFrame(applyPending);
  });
  stream.addEventListener("error", () => {
    if (stream.readyState !== EventSource.CLOSED) return showStatus("live updates lost; reconnecting…", true);
    // Refused (the server's stream cap, a 503): the browser gives up on its own, so try again later.
    showStatus("live updates refused by the server (too many open?); trying again in 30 s", true);
    setTimeout(connect, 30_000);
  });
}

for (const name of FILTERS) $(`filter-${name}`).addEventListener("change", redraw);
$("search").addEventListener("input", redraw);
$("filters").addEventListener("submit", (event) => event.preventDefault());
// Offline durations and "last heard" count on between updates.
setInterval(() => table.schedule(), 30_000);
connect();
