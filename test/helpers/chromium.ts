/**
 * Headless Chromium (Debian's /usr/bin/chromium; no browser is ever downloaded) as the doctor's
 * browser, driven by playwright-core. Tests see a small Page: evaluate in it, expose a Node
 * function to it, and press keys or the mouse through the browser's real input pipeline.
 */
import { chromium, type Browser, type Page as PlaywrightPage } from "playwright-core";

const EXECUTABLE = process.env.CHROMIUM ?? "/usr/bin/chromium";

const FLAGS = [
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
];

export class Chromium {
  readonly #browser: Browser;

  private constructor(browser: Browser) {
    this.#browser = browser;
  }

  static async launch(): Promise<Chromium> {
    return new Chromium(await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: FLAGS }));
  }

  /** Opens a page and resolves once it has loaded. */
  async open(url: string): Promise<Page> {
    const page = await this.#browser.newPage();
    await page.goto(url);
    return new Page(page);
  }

  async close(): Promise<void> {
    await this.#browser.close();
  }
}

export class Page {
  readonly #page: PlaywrightPage;

  constructor(page: PlaywrightPage) {
    this.#page = page;
  }

  /** Evaluates an expression in the page (awaiting a promise) and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T> {
    return this.#page.evaluate(expression) as Promise<T>;
  }

  /** Resolves once `expression` is truthy in the page (the browser re-checks it each frame). */
  async waitUntil(expression: string): Promise<void> {
    await this.#page.waitForFunction(expression);
  }

  /** Makes `window[name](string)` in the page call `handler` in the test and resolve to its answer. */
  async expose(name: string, handler: (payload: string) => Promise<unknown>): Promise<void> {
    await this.#page.exposeFunction(name, handler);
  }

  /** A real key press (down, then up). */
  async press(key: string): Promise<void> {
    await this.#page.keyboard.press(key);
  }

  /** Presses (down) or releases (up) the mouse on the middle of the element matching `selector`. */
  async pointer(selector: string, phase: "down" | "up"): Promise<void> {
    const element = this.#page.locator(selector);
    await element.scrollIntoViewIfNeeded();
    const box = await element.boundingBox();
    if (!box) throw new Error(`${selector} is not on the page`);
    await this.#page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    if (phase === "down") await this.#page.mouse.down();
    else await this.#page.mouse.up();
  }

  /** Closes the tab, as a doctor closing it would (once; later calls do nothing). */
  async close(): Promise<void> {
    if (!this.#page.isClosed()) await this.#page.close();
  }
}
