/**
 * What a POST to the fleet service must be before its body is even read. An operator's browser
 * carries their client certificate to any page that asks it to, so a POST is only taken when it
 * can only have come from the service's own page:
 * - `content-type: application/json`: an HTML form, or a cross-site fetch without a CORS
 *   preflight, can send only text/plain, urlencoded or multipart (Fetch standard, "CORS-safelisted
 *   request-header"); a JSON one needs a preflight, which this server never answers;
 * - `Sec-Fetch-Site`, when the browser sends it (Fetch Metadata), is `same-origin`;
 * - `Origin` is one of the server's own origins. Browsers send it on every POST, same-origin
 *   ones too (Fetch standard, "append a request `Origin` header"), so a POST without one did not
 *   come from a browser's page; a script adds it (`Origin: https://fleet.example`);
 * - the body is small: a `Content-Length` past the cap is refused before a byte is read, and a
 *   body without one is cut at the cap.
 */
import type { IncomingMessage } from "node:http";
import { parseRemoteJson } from "../../lib/remoteJson.ts";

/** An action's body is a request id and a few parameters; a config layer is a few kB. */
export const MAX_ACTION_BODY_BYTES = 4 * 1024;
export const MAX_CONFIG_BODY_BYTES = 64 * 1024;

export interface PostRefusal {
  status: number;
  error: string;
}

/** Undefined when the headers are those of the service's own page; otherwise the 4xx. */
export function postRefusal(request: IncomingMessage, maxBytes: number, originAllowed: (origin: string) => boolean): PostRefusal | undefined {
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin") return { status: 403, error: `a ${site} request may not act; use the fleet service's own page` };
  const origin = request.headers.origin;
  if (origin === undefined) return { status: 403, error: "a POST must carry an Origin header naming this server" };
  if (!originAllowed(origin)) return { status: 403, error: "the request's Origin is not this server's" };
  const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") return { status: 415, error: "the body must be application/json" };
  const length = request.headers["content-length"];
  if (length !== undefined && !(Number(length) <= maxBytes)) return { status: 413, error: `the body is larger than ${maxBytes} bytes` };
  return undefined;
}

export type Body = { ok: true; value: unknown } | { ok: false; status: number; error: string };

/** Reads and parses the body, at most `maxBytes` of it and no deeper than the agent allows. */
export function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.off("data", onData);
        // The rest is not read: the answer closes the connection (the caller sends 413).
        return resolve({ ok: false, status: 413, error: `the body is larger than ${maxBytes} bytes` });
      }
      chunks.push(chunk);
    };
    request.on("data", onData);
    request.once("error", () => resolve({ ok: false, status: 400, error: "the body was cut off" }));
    request.once("end", () => {
      if (size > maxBytes) return;
      const parsed = parseRemoteJson(Buffer.concat(chunks), { maxBytes });
      resolve(parsed.ok ? { ok: true, value: parsed.value } : { ok: false, status: 400, error: `the body: ${parsed.message}` });
    });
  });
}
