// The box page's actions: one button per action this person may take (the server says which:
// GET /api/boxes/{id}/actions), sent as JSON with an id of the page's own, the same id on a
// retry so the box runs it once. Restart and reboot ask the person first; a live consultation
// is shown with the choice to force. Every value from the box is put on the page as text.
import { logLineText, newRequestId } from "./boxWords.js";

const LABELS = {
  ping: "Ping",
  "health.now": "Health now",
  "peripherals.list": "List peripherals",
  "peripherals.rescan": "Rescan peripherals",
  "logs.tail": "Show log",
  "diagnostics.collect": "Download diagnostics",
  "agent.restart": "Restart agent…",
  "system.reboot": "Reboot box…",
};
/** A lost connection is retried with the same id, so the box answers a retry instead of running it twice. */
const RETRIES = 2;

const $ = (id) => document.getElementById(id);

/** POST one action; resolves with {status, body} (or {status, blob, filename} for a file). */
export async function postAction(deviceId, name, params = {}, requestId = newRequestId()) {
  const url = `/api/boxes/${encodeURIComponent(deviceId)}/actions/${encodeURIComponent(name)}`;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ requestId, params }) });
      if ((response.headers.get("content-type") ?? "").startsWith("application/gzip")) {
        const filename = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? "diagnostics.json.gz";
        return { status: response.status, blob: await response.blob(), filename };
      }
      return { status: response.status, body: await response.json() };
    } catch (error) {
      if (attempt >= RETRIES) return { status: 0, body: { error: `no answer from the fleet service (${error.message})` } };
    }
  }
}

export class BoxActions {
  #deviceId;
  #onPeripherals;
  #busy = new Set();

  /** `onPeripherals(list)`: told the peripherals a list or a rescan answered. */
  constructor(deviceId, onPeripherals) {
    this.#deviceId = deviceId;
    this.#onPeripherals = onPeripherals;
  }

  /** Draws the buttons the server allows; `allowed` is GET /api/boxes/{id}/actions's answer. */
  show(allowed) {
    $("role").textContent = allowed.role === null ? allowed.why : `You act here as ${allowed.role}.`;
    const buttons = $("action-buttons");
    buttons.replaceChildren();
    for (const action of allowed.actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = action.name;
      button.textContent = LABELS[action.name] ?? action.name;
      button.addEventListener("click", () => void this.run(action.name, button));
      buttons.append(button);
    }
    $("log-controls").hidden = !allowed.actions.some((action) => action.name === "logs.tail");
  }

  async run(name, button) {
    if (this.#busy.has(name)) return;
    this.#busy.add(name);
    button.disabled = true;
    try {
      await this.#run(name);
    } finally {
      this.#busy.delete(name);
      button.disabled = false;
    }
  }

  async #run(name) {
    if (name === "agent.restart") return this.#confirmed(name, `Restart the agent on ${this.#deviceId}? It stops and systemd starts it again; readings wait in its outbox meanwhile.`, {});
    if (name === "system.reboot") return this.#reboot();
    const params = name === "logs.tail" ? { lines: Number($("log-lines").value) || 100, level: $("log-level").value } : {};
    this.#status(`${LABELS[name]}: asking the box…`);
    const answer = await postAction(this.#deviceId, name, params);
    if (answer.blob) return this.#download(answer);
    if (!answer.body.ok) return this.#status(`${LABELS[name]}: ${failure(answer)}`, true);
    const result = answer.body.result;
    if (name === "logs.tail") return this.#showLog(result.lines ?? []);
    if (name === "peripherals.list" || name === "peripherals.rescan") {
      this.#onPeripherals(result.peripherals ?? []);
      return this.#status(name === "peripherals.rescan" ? `rescanned: ${(result.rescanned ?? []).join(", ") || "nothing was waiting"}` : "peripherals listed");
    }
    this.#status(`${LABELS[name]}: done`);
    this.#showResult(result);
  }

  /** Restart: confirmed by the person, again with force when a consultation is live. */
  async #confirmed(name, question, params) {
    if (!(await confirmDialog(question, false))) return this.#status("cancelled");
    let answer = await postAction(this.#deviceId, name, params);
    if (answer.body?.code === "consultation-live") {
      if (!(await confirmDialog(question, true))) return this.#status("cancelled: a consultation is live");
      answer = await postAction(this.#deviceId, name, { ...params, force: true });
    }
    this.#status(answer.body?.ok ? `${LABELS[name]} ${JSON.stringify(answer.body.result)}` : `${LABELS[name]}: ${failure(answer)}`, !answer.body?.ok);
  }

  /** Reboot in the box's two steps: a token, then the token back, confirmed by the person. */
  async #reboot() {
    const question = `Reboot ${this.#deviceId}? The box is away for a minute or two; a remote reboot is allowed at most once per 30 min.`;
    if (!(await confirmDialog(question, false))) return this.#status("cancelled");
    const first = await postAction(this.#deviceId, "system.reboot", {});
    if (!first.body?.ok) return this.#status(`reboot: ${failure(first)}`, true);
    const confirmToken = first.body.result.confirmToken;
    let answer = await postAction(this.#deviceId, "system.reboot", { confirmToken });
    if (answer.body?.code === "consultation-live") {
      if (!(await confirmDialog(question, true))) return this.#status("cancelled: a consultation is live");
      answer = await postAction(this.#deviceId, "system.reboot", { confirmToken, force: true });
    }
    this.#status(answer.body?.ok ? "rebooting" : `reboot: ${failure(answer)}`, !answer.body?.ok);
  }

  #download({ status, blob, filename }) {
    if (status !== 200) return this.#status("diagnostics: not received", true);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    this.#status(`diagnostics downloaded: ${filename} (${blob.size} bytes, checked)`);
  }

  #showLog(lines) {
    const view = $("log-view");
    view.replaceChildren(
      ...lines.map((line) => {
        const row = document.createElement("div");
        row.className = `log-line level-${String(line.level ?? "")}`;
        row.textContent = logLineText(line);
        return row;
      }),
    );
    view.hidden = false;
    view.scrollTop = view.scrollHeight;
    this.#status(`${lines.length} log line${lines.length === 1 ? "" : "s"}, newest last`);
  }

  #showResult(result) {
    $("action-result").textContent = JSON.stringify(result, null, 2);
    $("action-result").hidden = false;
  }

  #status(text, failed = false) {
    $("action-status").textContent = text;
    $("action-status").classList.toggle("failed", failed);
  }
}

function failure(answer) {
  const body = answer.body ?? {};
  return `${body.code ? `${body.code}: ` : ""}${body.error ?? `HTTP ${answer.status}`}`;
}

/** Asks the person; `live`: a consultation is live, and confirming forces the action. */
function confirmDialog(question, live) {
  const dialog = $("confirm");
  $("confirm-text").textContent = question;
  $("confirm-live").hidden = !live;
  $("confirm-force").checked = false;
  $("confirm-ok").disabled = live;
  return new Promise((resolve) => {
    const force = () => ($("confirm-ok").disabled = !$("confirm-force").checked);
    const close = (value) => {
      $("confirm-ok").removeEventListener("click", ok);
      $("confirm-cancel").removeEventListener("click", cancel);
      $("confirm-force").removeEventListener("change", force);
      dialog.removeEventListener("cancel", cancel);
      dialog.close();
      resolve(value);
    };
    const ok = () => close(true);
    const cancel = () => close(false);
    $("confirm-ok").addEventListener("click", ok);
    $("confirm-cancel").addEventListener("click", cancel);
    $("confirm-force").addEventListener("change", force);
    dialog.addEventListener("cancel", cancel);
    dialog.showModal();
  });
}
