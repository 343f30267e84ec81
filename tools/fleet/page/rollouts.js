// The rollouts page (rollouts.html): every rollout this person may see, newest first, with its
// state and progress; for one under way, halted, or opened by the person, its batches and its
// failed boxes with why, each linking to the box's page; pause, resume and abort for those the
// API says may (GET /api/rollouts: mayControl), abort only once confirmed. Polled every few
// seconds while the tab is shown: the list, and the report of an open rollout only when the list
// says it moved (its state, counts or last write changed), so a quiet rollout of 2,050 boxes
// costs one small list a poll, not its whole report.
// Every value is set as text, never as HTML.
import { dateTimeText } from "./boxWords.js";
import { batchRows, controlsOf, failedBoxes, failureText, isUnderWay, rolloutLine, settledOf, totalsText } from "./rolloutWords.js";

/** A rollout's boxes take minutes each: a few seconds is live enough, and light for the service. */
const POLL_MS = 3000;
/** Failed boxes listed at most per rollout (a halted one has a few; the report has them all). */
const MAX_FAILED_SHOWN = 50;
const LABELS = { pause: "Pause", resume: "Resume", abort: "Abort…" };
const DONE = { pause: "paused", resume: "resumed", abort: "aborted" };

const $ = (id) => document.getElementById(id);
/** What is on the page, by rollout id: its element and whether its report was read once. */
const shown = new Map();
let refreshing = false;

function status(text, failed = false) {
  $("status").textContent = text;
  $("status").classList.toggle("lost", failed);
}

async function getJson(path) {
  const response = await fetch(path);
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

/** Reads the list (and the reports worth reading) unless a read is under way. */
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const list = await getJson("/api/rollouts");
    if (!list.ok) return status(list.body.error ?? `the fleet service answered ${list.status}`, true);
    const mayControl = list.body.mayControl === true;
    $("may").textContent = mayControl ? "You may pause, resume and abort these rollouts." : "You may watch these rollouts; pausing and aborting are for the technicians the service names.";
    showList(list.body.rollouts, mayControl);
    const moving = list.body.rollouts.filter((listed) => {
      const entry = shown.get(listed.id);
      return entry.details.open && entry.reported !== movedKey(listed, listed.totals);
    });
    await Promise.all(moving.map((listed) => loadReport(listed.id)));
    status(`updated ${new Date().toLocaleTimeString("en-GB")}`);
  } catch (error) {
    status(`no answer from the fleet service (${error.message}); trying again`, true);
  } finally {
    refreshing = false;
  }
}

function showList(rollouts, mayControl) {
  const ids = new Set(rollouts.map((listed) => listed.id));
  for (const [id, entry] of shown) {
    if (ids.has(id)) continue;
    entry.element.remove();
    shown.delete(id);
  }
  $("none").hidden = rollouts.length > 0;
  let previous = null;
  for (const listed of rollouts) {
    const entry = shown.get(listed.id) ?? newEntry(listed);
    const next = previous === null ? $("rollouts").firstElementChild : previous.nextElementSibling;
    if (next !== entry.element) (previous === null ? $("rollouts").prepend(entry.element) : previous.after(entry.element));
    entry.mayControl = mayControl;
    showRollout(entry, listed, listed.totals);
    previous = entry.element;
  }
}

function newEntry(listed) {
  const element = $("rollout-template").content.firstElementChild.cloneNode(true);
  element.dataset.rolloutId = listed.id;
  const details = element.querySelector(".details");
  // What a night shift looks for is open from the start: a rollout moving, or one that halted.
  details.open = isUnderWay(listed, listed.totals) || listed.status === "halted";
  // `reported`: what the last report read said (movedKey), null before one was read.
  const entry = { id: listed.id, element, details, reported: null, controls: "", mayControl: false };
  details.addEventListener("toggle", () => void (details.open && loadReport(entry.id)));
  shown.set(listed.id, entry);
  return entry;
}

/** The parts the list and the report both give: state, what it is, progress, the buttons. */
function showRollout(entry, rollout, totals) {
  const { element } = entry;
  element.dataset.status = rollout.status;
  element.querySelector(".rollout-id").textContent = rollout.id;
  const badge = element.querySelector(".badge");
  badge.textContent = rollout.status;
  badge.className = `badge ${rollout.status}`;
  element.querySelector(".what").textContent = rolloutLine(rollout, totals, dateTimeText);
  element.querySelector(".why").textContent = rollout.statusReason ?? "";
  const bar = element.querySelector("progress");
  bar.max = Math.max(1, totals.boxes);
  bar.value = settledOf(totals);
  element.querySelector(".totals").textContent = totalsText(totals);
  const controls = controlsOf(rollout.status, entry.mayControl);
  if (controls.join() === entry.controls) return;
  entry.controls = controls.join();
  element.querySelector(".controls").replaceChildren(
    ...controls.map((word) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.control = word;
      button.textContent = LABELS[word];
      button.addEventListener("click", () => void control(entry, word, button));
      return button;
    }),
  );
}

/** What changes when a rollout moves: its status, its counts, its last write. */
function movedKey(rollout, totals) {
  return JSON.stringify([rollout.status, rollout.updatedAt, totals]);
}

async function loadReport(id) {
  const entry = shown.get(id);
  if (!entry) return;
  const answer = await getJson(`/api/rollouts/${encodeURIComponent(id)}`);
  if (!answer.ok) return void (entry.element.querySelector(".control-status").textContent = answer.body.error ?? `report: HTTP ${answer.status}`);
  entry.reported = movedKey(answer.body.rollout, answer.body.totals);
  showRollout(entry, answer.body.rollout, answer.body.totals);
  showReport(entry, answer.body);
}

function showReport(entry, report) {
  const cell = (text, className) => {
    const td = document.createElement("td");
    td.textContent = String(text);
    if (className) td.className = className;
    return td;
  };
  entry.element.querySelector(".batches tbody").replaceChildren(
    ...batchRows(report).map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.batch = String(row.batch);
      if (!row.sent) tr.className = "not-sent";
      tr.append(cell(row.sent ? row.label : `${row.label} (not sent)`), cell(row.boxes, "count"), cell(row.done, "count"), cell(row.failed, `count failed-count${row.failed > 0 ? " some" : ""}`), cell(row.pending, "count"), cell(row.offline, "count"));
      return tr;
    }),
  );
  const failed = failedBoxes(report);
  entry.element.querySelector(".failed-title").hidden = failed.length === 0;
  const items = failed.slice(0, MAX_FAILED_SHOWN).map((box) => {
    const li = document.createElement("li");
    li.dataset.deviceId = box.deviceId;
    const link = document.createElement("a");
    link.href = `box.html?id=${encodeURIComponent(box.deviceId)}`;
    link.textContent = box.deviceId;
    const reason = document.createElement("span");
    reason.className = "reason";
    reason.textContent = failureText(box);
    li.append(link, " ", reason);
    return li;
  });
  if (failed.length > MAX_FAILED_SHOWN) {
    const more = document.createElement("li");
    more.textContent = `and ${failed.length - MAX_FAILED_SHOWN} more (thea fleet rollout show ${report.rollout.id})`;
    items.push(more);
  }
  entry.element.querySelector("ul.failed").replaceChildren(...items);
}

/** Pause, resume or abort (abort once the person confirms), as JSON from this page's own origin. */
async function control(entry, word, button) {
  const said = entry.element.querySelector(".control-status");
  if (word === "abort" && !(await confirmed(`Abort rollout ${entry.id}? Boxes not sent yet are never sent; boxes already sent carry on with the change.`))) {
    said.textContent = "not aborted";
    return;
  }
  button.disabled = true;
  try {
    const response = await fetch(`/api/rollouts/${encodeURIComponent(entry.id)}/${word}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    const body = await response.json().catch(() => ({}));
    said.textContent = response.ok ? `${DONE[word]}: now ${body.status}` : `${LABELS[word].replace("…", "")}: ${body.error ?? `HTTP ${response.status}`}`;
  } catch (error) {
    said.textContent = `no answer from the fleet service (${error.message})`;
  } finally {
    button.disabled = false;
  }
  await loadReport(entry.id);
  await refresh();
}

function confirmed(question) {
  const dialog = $("confirm");
  $("confirm-text").textContent = question;
  return new Promise((resolve) => {
    const close = (value) => {
      $("confirm-ok").removeEventListener("click", ok);
      $("confirm-cancel").removeEventListener("click", cancel);
      dialog.removeEventListener("cancel", cancel);
      dialog.close();
      resolve(value);
    };
    const ok = () => close(true);
    const cancel = () => close(false);
    $("confirm-ok").addEventListener("click", ok);
    $("confirm-cancel").addEventListener("click", cancel);
    dialog.addEventListener("cancel", cancel);
    dialog.showModal();
  });
}

// A hidden tab asks nothing; shown again, it reads at once.
setInterval(() => void (!document.hidden && refresh()), POLL_MS);
document.addEventListener("visibilitychange", () => void (!document.hidden && refresh()));
void refresh();
