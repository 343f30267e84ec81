// The box page's config editor (technicians): the box's retained config/reported beside the
// current config/desired, and a new remote layer checked by the service with the agent's own
// rules before it is published. The box's verdict (applied, or refused with every problem) comes
// back in config/reported, shown beside it: looked at again every few seconds after a change.
import { newRequestId } from "./boxWords.js";

const $ = (id) => document.getElementById(id);
const WATCH_MS = 2_000;
const WATCH_FOR_MS = 90_000;
/** agent/remoteConfig: keys a remote layer never sets, and those it sets only with allowBootstrap. */
const NEVER_REMOTE = ["dataDir", "update", "remotePolicy"];
const BOOTSTRAP = ["deviceId", "mqtt"];

export class BoxConfig {
  #deviceId;
  #watch;

  constructor(deviceId) {
    this.#deviceId = deviceId;
    $("desired-publish").addEventListener("click", () => void this.#publish());
  }

  async load(prefill = true) {
    const response = await fetch(`/api/boxes/${encodeURIComponent(this.#deviceId)}/config`);
    const body = await response.json();
    if (!response.ok) {
      $("desired-status").textContent = body.error;
      return undefined;
    }
    this.#showReported(body.reported);
    const desired = body.desired;
    $("desired-now").textContent = desired === null ? "No desired config is retained for this box." : `Retained now: ${desired.text}`;
    if (prefill) {
      const next = Math.max(body.reported?.version ?? 0, desired?.value?.version ?? 0) + 1;
      $("desired-text").value = JSON.stringify({ version: next, patch: {} }, null, 2);
    }
    $("config").hidden = false;
    return body;
  }

  /** The agent's schema (GET /api/config-schema): each top-level key with its description, as hints. */
  async showHints() {
    const response = await fetch("/api/config-schema");
    if (!response.ok) return;
    const schema = await response.json();
    $("config-keys").replaceChildren(
      ...Object.entries(schema.properties ?? {}).flatMap(([key, property]) => {
        const term = document.createElement("dt");
        term.textContent = key;
        const detail = document.createElement("dd");
        const rule = NEVER_REMOTE.includes(key) ? "never from afar. " : BOOTSTRAP.includes(key) ? "only with allowBootstrap, if the box's file allows it. " : "";
        detail.textContent = `${rule}${property.description ?? ""}`;
        return [term, detail];
      }),
    );
  }

  #showReported(reported) {
    const facts = $("reported-facts");
    facts.replaceChildren();
    if (reported === null) {
      $("reported-error").textContent = "The box has reported no configuration yet.";
      return;
    }
    for (const [name, value] of [["version", reported.version], ["state", reported.state], ["applied at", reported.appliedAt ?? "–"], ["hash", reported.hash]]) {
      const term = document.createElement("dt");
      term.textContent = name;
      const detail = document.createElement("dd");
      detail.textContent = String(value);
      facts.append(term, detail);
    }
    const error = reported.lastError;
    $("reported-error").textContent = error ? `Refused version ${error.version ?? "?"} at ${error.at}: ${error.errors.join("; ")}` : "";
    $("reported-config").textContent = JSON.stringify(reported.config, null, 2);
  }

  async #publish() {
    $("desired-errors").replaceChildren();
    let desired;
    try {
      desired = JSON.parse($("desired-text").value);
    } catch (error) {
      return this.#errors([`not JSON: ${error.message}`]);
    }
    $("desired-publish").disabled = true;
    $("desired-status").textContent = "checking…";
    try {
      const response = await fetch(`/api/boxes/${encodeURIComponent(this.#deviceId)}/config`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ requestId: newRequestId(), desired }),
      });
      const body = await response.json();
      if (!response.ok) {
        $("desired-status").textContent = body.error;
        return this.#errors(body.errors ?? []);
      }
      $("desired-status").textContent = `version ${body.published.version} published; waiting for the box's report…`;
      this.#follow(body.published.version);
    } finally {
      $("desired-publish").disabled = false;
    }
  }

  /** Looks at config/reported again until the box has said something of `version`. */
  #follow(version) {
    clearInterval(this.#watch);
    const until = Date.now() + WATCH_FOR_MS;
    this.#watch = setInterval(async () => {
      const body = await this.load(false).catch(() => undefined);
      const reported = body?.reported;
      const refused = reported?.lastError?.version === version;
      if (reported && (reported.version >= version || refused)) {
        clearInterval(this.#watch);
        $("desired-status").textContent = refused ? `the box refused version ${version}` : `the box runs version ${reported.version} (${reported.state})`;
      } else if (Date.now() > until) {
        clearInterval(this.#watch);
        $("desired-status").textContent = `no report of version ${version} yet; the box takes it when it is online`;
      }
    }, WATCH_MS);
  }

  #errors(errors) {
    $("desired-errors").replaceChildren(
      ...errors.map((error) => {
        const item = document.createElement("li");
        item.textContent = error;
        return item;
      }),
    );
  }
}
