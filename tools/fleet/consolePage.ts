/**
 * The console's page and scripts as the fleet service serves them under /console/: the same files
 * `thea console` serves (tools/console/assets.ts), read once at start. The page is told the
 * requester it must ask its answers for (`{serviceCn}/{personCn}`, the only reply space the relay
 * lets it read) in a meta element, and is served with a policy that allows its one inline style
 * block by hash, no inline script, nothing from elsewhere, and framing by this origin only (the
 * box page frames it).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CONSOLE_PAGE, CONSOLE_SCRIPTS } from "../console/assets.ts";

export interface ConsolePageFiles {
  readonly page: string;
  readonly policy: string;
  readonly scripts: ReadonlyMap<string, { body: Buffer; type: string }>;
}

export function readConsolePage(): ConsolePageFiles {
  const page = readFileSync(fileURLToPath(CONSOLE_PAGE.file), "utf8");
  const scripts = new Map(Object.entries(CONSOLE_SCRIPTS).map(([name, entry]) => [`/console/${name}`, { body: readFileSync(fileURLToPath(entry.file)), type: entry.type }]));
  return { page, policy: policyOf(page), scripts };
}

export function consoleScript(files: ConsolePageFiles, pathname: string): { body: Buffer; type: string } | undefined {
  return files.scripts.get(pathname);
}

/** The page for one person: its body with their requester, and its headers. */
export function consolePageResponse(files: ConsolePageFiles, requester: string): { body: string; headers: Record<string, string> } {
  const meta = `<meta name="thea-requester" content="${escapeAttribute(requester)}">`;
  return {
    body: files.page.replace('<meta charset="utf-8">', `<meta charset="utf-8">\n  ${meta}`),
    headers: { "content-security-policy": files.policy, "referrer-policy": "no-referrer" },
  };
}

/**
 * CSP for the console page: its inline <style> blocks by their SHA-256 (CSP3 §8.3, hash-source),
 * so that no other inline style or any inline script runs; WebRTC needs no media-src (a MediaStream
 * is not fetched).
 */
function policyOf(page: string): string {
  const hashes = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((match) => `'sha256-${createHash("sha256").update(match[1] ?? "").digest("base64")}'`);
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src ${hashes.length > 0 ? hashes.join(" ") : "'none'"}`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
  ].join("; ");
}

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
