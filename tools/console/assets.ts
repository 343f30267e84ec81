/**
 * The operator console's files: its page (viewer/index.html) and the scripts it loads (the
 * project's viewer code and mqtt.js's browser bundle). Served by `thea console` (server.ts) and by
 * the fleet service's box page (tools/fleet/consolePage.ts), from this one list.
 */
const ROOT = new URL("../../", import.meta.url);

export interface ConsoleFile {
  file: URL;
  type: string;
}

export const CONSOLE_PAGE: ConsoleFile = { file: new URL("viewer/index.html", ROOT), type: "text/html; charset=utf-8" };

/** By the name the page imports them under (`./console.js`, …): public code, no secret in them. */
export const CONSOLE_SCRIPTS: Readonly<Record<string, ConsoleFile>> = {
  "viewer.js": { file: new URL("viewer/viewer.js", ROOT), type: "text/javascript" },
  "console.js": { file: new URL("viewer/console.js", ROOT), type: "text/javascript" },
  "mqtt.esm.js": { file: new URL("node_modules/mqtt/dist/mqtt.esm.js", ROOT), type: "text/javascript" },
};
