/**
 * Who may use the console relay: whoever holds the secret printed when it started, from a page of
 * the console's own origin. Pure; no I/O.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** 32 random bytes (256 bits): far past guessing, even at the relay's full request rate. */
export function newConsoleToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Whether `offered` is the token, in time that does not depend on where they differ. Both sides
 * are hashed first so that timingSafeEqual always compares equal lengths and the token's length
 * leaks nothing either.
 */
export function tokenMatches(token: string, offered: string | null | undefined): boolean {
  if (typeof offered !== "string") return false;
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(token), digest(offered));
}

/** The token a request carries in its query (`?token=…`), if exactly one. */
export function tokenOf(requestUrl: string | undefined): string | undefined {
  const values = new URL(requestUrl ?? "/", "http://localhost").searchParams.getAll("token");
  return values.length === 1 ? values[0] : undefined;
}

/** `http://HOST:PORT` as a browser writes an Origin (IPv6 in brackets, lower case). */
export function originOf(host: string, port: number): string {
  return new URL(`http://${host.includes(":") ? `[${host}]` : host}:${port}`).origin;
}

/**
 * Whether a WebSocket upgrade's Origin header is acceptable. Browsers send an Origin on every
 * WebSocket handshake (RFC 6455 §4.1, item 8; the Fetch standard), so a page of any other site,
 * a sandboxed frame ("null") or a file:// page is refused. A request with no Origin cannot come
 * from a web page: it is a tool (a script, websocat) and needs the token like everyone else.
 */
export function originAllowed(origin: string | string[] | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (typeof origin !== "string") return false; // a repeated header is not something a browser sends
  return allowed.includes(origin.toLowerCase());
}
