// The fleet page's table as a windowed list: only the rows in view (and a few past the edges)
// exist in the DOM, drawn into a fixed pool of row elements whose cells change only when their
// text does. 2,050 boxes cost the page the same as 40. Values from a box are set as text, never
// as HTML: a site label is whatever the box's configuration says.
import { agoText, reasonsText, siteText, stateOf } from "./fleetWords.js";

const OVERSCAN = 8;
const COLUMNS = ["state", "id", "site", "version", "reasons", "seen"];

export class FleetTable {
  #list;
  #spacer;
  #rowHeight;
  #pool = [];
  #rows = [];
  #scheduled = false;

  constructor(list, spacer) {
    this.#list = list;
    this.#spacer = spacer;
    this.#rowHeight = parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--row")) || 28;
    list.addEventListener("scroll", () => this.schedule(), { passive: true });
    addEventListener("resize", () => this.schedule());
  }

  /** The rows to show, in order; drawn at the next frame. */
  show(rows) {
    this.#rows = rows;
    this.#spacer.style.height = `${rows.length * this.#rowHeight}px`;
    this.schedule();
  }

  schedule() {
    if (this.#scheduled) return;
    this.#scheduled = true;
    requestAnimationFrame(() => {
      this.#scheduled = false;
      this.#draw();
    });
  }

  #draw() {
    const now = Date.now();
    const first = Math.max(0, Math.floor(this.#list.scrollTop / this.#rowHeight) - OVERSCAN);
    const count = Math.ceil(this.#list.clientHeight / this.#rowHeight) + 2 * OVERSCAN;
    while (this.#pool.length < count) this.#pool.push(this.#newRow());
    this.#pool.forEach((element, slot) => {
      const row = this.#rows[first + slot];
      element.hidden = row === undefined;
      if (row === undefined) return;
      element.style.transform = `translateY(${(first + slot) * this.#rowHeight}px)`;
      const state = stateOf(row);
      const texts = [state, row.deviceId, siteText(row.site), row.summary?.version ?? "", reasonsText(row, now), agoText(row.lastSeenAt, now)];
      const cells = element.children;
      // The box's id links to its page.
      if (element.dataset.deviceId !== row.deviceId) cells[1].href = `box.html?id=${encodeURIComponent(row.deviceId)}`;
      element.dataset.deviceId = row.deviceId;
      element.dataset.state = state;
      texts.forEach((text, column) => {
        if (cells[column].textContent !== text) cells[column].textContent = text;
      });
      const badge = `badge ${state}`;
      if (cells[0].className !== badge) cells[0].className = badge;
    });
  }

  #newRow() {
    const element = document.createElement("div");
    element.className = "row";
    element.setAttribute("role", "row");
    for (const column of COLUMNS) {
      const cell = document.createElement(column === "id" ? "a" : "span");
      cell.dataset.column = column;
      if (column === "reasons") cell.className = "reasons";
      element.append(cell);
    }
    this.#list.append(element);
    return element;
  }
}
