/**
 * Headless Chromium (Debian's /usr/bin/chromium) as the doctor's browser, driven over the Chrome
 * DevTools Protocol with Node's own WebSocket: open a page, evaluate in it, and expose a Node
 * function to it (Runtime.addBinding) so the page can call back into the test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { LineLog, terminate, waitFor } from "./wait.ts";

const BINARY = process.env.CHROMIUM ?? "/usr/bin/chromium";

interface CdpMessage {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

export class Chromium {
  readonly #process: ChildProcess;
  readonly #socket: WebSocket;
  readonly #profile: string;
  readonly #pending = new Map<number, { resolve: (value: Record<string, unknown>) => void; reject: (error: Error) => void }>();
  readonly #listeners = new Set<(message: CdpMessage) => void>();
  readonly log: LineLog;
  #nextId = 1;

  private constructor(child: ChildProcess, socket: WebSocket, profile: string, log: LineLog) {
    this.#process = child;
    this.#socket = socket;
    this.#profile = profile;
    this.log = log;
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as CdpMessage;
      const waiter = message.id === undefined ? undefined : this.#pending.get(message.id);
      if (waiter && message.id !== undefined) {
        this.#pending.delete(message.id);
        if (message.error) waiter.reject(new Error(message.error.message));
        else waiter.resolve(message.result ?? {});
      }
      for (const listener of this.#listeners) listener(message);
    });
  }

  static async launch(): Promise<Chromium> {
    const profile = await mkdtemp(path.join(tmpdir(), "thea-chromium-"));
    const child = spawn(
      BINARY,
      [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        // WebRTC between the browser and the agent on the same box, over 127.0.0.1 only.
        "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--autoplay-policy=no-user-gesture-required",
        // A fake microphone (a beep) that needs no permission prompt, for talk-back.
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      // Its own process group, so close() ends the helper processes with the browser.
      { stdio: ["ignore", "ignore", "pipe"], detached: true },
    );
    const log = new LineLog();
    child.stderr?.on("data", (chunk: Buffer) => log.push(chunk));
    const line = await log.waitForLine("DevTools endpoint", (text) => text.includes("DevTools listening on ws://"), 30_000);
    const url = line.slice(line.indexOf("ws://")).trim();
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error(`cannot reach Chromium's DevTools at ${url}`)), { once: true });
    });
    return new Chromium(child, socket, profile, log);
  }

  /** Opens a page and resolves once it has loaded. */
  async open(url: string): Promise<Page> {
    const { targetId } = (await this.send("Target.createTarget", { url: "about:blank" })) as { targetId: string };
    const { sessionId } = (await this.send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    const page = new Page(this, sessionId, targetId);
    await this.send("Page.enable", {}, sessionId);
    await this.send("Runtime.enable", {}, sessionId);
    const loaded = this.waitForEvent("page load", 30_000, (message) => message.sessionId === sessionId && message.method === "Page.loadEventFired");
    await this.send("Page.navigate", { url }, sessionId);
    await loaded;
    return page;
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) }));
    });
  }

  on(listener: (message: CdpMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  waitForEvent(what: string, timeoutMs: number, matches: (message: CdpMessage) => boolean): Promise<CdpMessage> {
    return waitFor(what, timeoutMs, (done) => this.on((message) => matches(message) && done(message)));
  }

  async close(): Promise<void> {
    this.#socket.close();
    const { pid } = this.#process;
    const gone = terminate(this.#process, "chromium");
    try {
      if (pid !== undefined) process.kill(-pid, "SIGTERM");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error; // the group had already gone
    }
    await gone;
    // Chromium's helper processes may still be writing their last files for a moment.
    await rm(this.#profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

export class Page {
  readonly #browser: Chromium;
  readonly #sessionId: string;
  readonly #targetId: string;

  constructor(browser: Chromium, sessionId: string, targetId: string) {
    this.#browser = browser;
    this.#sessionId = sessionId;
    this.#targetId = targetId;
  }

  #closed = false;

  /** Closes the tab, as a doctor closing it would (once; later calls do nothing). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#browser.send("Target.closeTarget", { targetId: this.#targetId });
  }

  /** Evaluates an expression in the page (awaiting a promise) and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const reply = (await this.#browser.send(
      "Runtime.evaluate",
      { expression, awaitPromise: true, returnByValue: true },
      this.#sessionId,
    )) as { result?: { value?: unknown }; exceptionDetails?: { exception?: { description?: string }; text?: string } };
    if (reply.exceptionDetails) {
      throw new Error(`in the page: ${reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text ?? "exception"}`);
    }
    return reply.result?.value as T;
  }

  /** A real key press (keyDown then keyUp) through the browser's input pipeline. */
  async press(key: string, code = key): Promise<void> {
    await this.#browser.send("Input.dispatchKeyEvent", { type: "keyDown", key, code }, this.#sessionId);
    await this.#browser.send("Input.dispatchKeyEvent", { type: "keyUp", key, code }, this.#sessionId);
  }

  /** Presses (down) or releases (up) the mouse on the middle of the element matching `selector`. */
  async pointer(selector: string, phase: "down" | "up"): Promise<void> {
    const [x = 0, y = 0] = await this.evaluate<number[]>(`(() => {
      const element = document.querySelector(${JSON.stringify(selector)});
      element.scrollIntoView({ block: "center" });
      const box = element.getBoundingClientRect();
      return [box.x + box.width / 2, box.y + box.height / 2];
    })()`);
    const type = phase === "down" ? "mousePressed" : "mouseReleased";
    await this.#browser.send("Input.dispatchMouseEvent", { type, x, y, button: "left", clickCount: 1 }, this.#sessionId);
  }

  /**
   * Makes `window[name](string)` in the page call `handler` in the test. Bindings cannot return a
   * value, so the handler's answer is delivered by evaluating `window[name].answer(id, json)`.
   */
  async expose(name: string, handler: (payload: string) => Promise<unknown>): Promise<void> {
    await this.#browser.send("Runtime.addBinding", { name: `${name}Raw` }, this.#sessionId);
    this.#browser.on((message) => {
      if (message.sessionId !== this.#sessionId || message.method !== "Runtime.bindingCalled") return;
      const params = message.params as { name: string; payload: string };
      if (params.name !== `${name}Raw`) return;
      const { id, body } = JSON.parse(params.payload) as { id: number; body: string };
      void handler(body)
        .then(
          (value) => this.evaluate(`window.${name}.settle(${id}, true, ${JSON.stringify(JSON.stringify(value ?? null))})`),
          (error: unknown) => this.evaluate(`window.${name}.settle(${id}, false, ${JSON.stringify(JSON.stringify(String(error)))})`),
        )
        .catch(() => undefined); // the page was closed before the answer came: nobody to tell
    });
    await this.evaluate(`(() => {
      const waiting = new Map();
      let next = 0;
      const call = (body) => new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        window.${name}Raw(JSON.stringify({ id, body }));
      });
      call.settle = (id, ok, json) => {
        const waiter = waiting.get(id);
        waiting.delete(id);
        if (ok) waiter.resolve(JSON.parse(json)); else waiter.reject(new Error(JSON.parse(json)));
      };
      window.${name} = call;
    })()`);
  }
}
