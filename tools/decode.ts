/**
 * `thea decode --driver ID [--hex] [--options JSON] FILE`: how a technician checks a capture
 * from a site. Prints every reading, one JSON per line, in the published shape (id, seq and
 * receivedAt are synthetic); truncated and garbled captures are fine — what cannot be decoded is
 * counted on stderr.
 */
import { readFile } from "node:fs/promises";
import { driverById, DRIVER_IDS } from "../drivers/index.ts";
import { readingPayload } from "../agent/devices/readingPayload.ts";
import { messageOf } from "../agent/core/errors.ts";

export interface DecodeArgs {
  driver: string | undefined;
  hex: boolean;
  options: string | undefined;
  file: string | undefined;
}

export async function decodeCommand(args: DecodeArgs): Promise<number> {
  const driver = args.driver === undefined ? undefined : driverById(args.driver);
  if (!driver || args.file === undefined) {
    process.stderr.write(`usage: thea decode --driver <${DRIVER_IDS.join("|")}> [--hex] [--options JSON] FILE\n`);
    return 2;
  }
  const options = parseOptions(args.options);
  const problems = options.ok ? driver.checkOptions(options.value) : [{ path: [], message: options.error }];
  if (!options.ok || problems.length > 0) {
    for (const problem of problems) process.stderr.write(`options${problem.path.map((p) => `.${String(p)}`).join("")}: ${problem.message}\n`);
    return 2;
  }
  let bytes: Uint8Array;
  try {
    const content = await readFile(args.file);
    bytes = args.hex ? bytesFromHex(content.toString("utf8")) : content;
  } catch (error) {
    process.stderr.write(`thea decode: ${messageOf(error)}\n`);
    return 1;
  }
  const decoder = driver.decoder(options.value);
  let count = 0;
  let badRuns = 0;
  let badBytes = 0;
  const receivedAt = new Date();
  for (const event of decoder.push(bytes)) {
    if (event.type === "reply" || event.type === "message") continue; // a capture has nobody to answer
    if (event.type === "discarded") {
      badRuns += 1;
      badBytes += event.bytes;
      continue;
    }
    count += 1;
    const payload = readingPayload(event.reading, { id: `capture-${count}`, seq: count, peripheral: "capture", driver: driver.id, receivedAt });
    process.stdout.write(`${JSON.stringify(payload)}\n`);
  }
  process.stderr.write(`${count} reading(s); ${badRuns} undecodable run(s), ${badBytes} byte(s) skipped; ${bytes.length} byte(s) in all\n`);
  return 0;
}

/**
 * Hex text as technicians paste it: pairs of hex digits, optionally 0x-prefixed, separated by
 * anything (spaces, commas, newlines); `#` starts a comment that runs to the end of the line.
 */
export function bytesFromHex(text: string): Uint8Array {
  const digits = text
    .split("\n")
    .map((line) => line.replace(/#.*$/, ""))
    .join(" ")
    .replace(/0x/gi, "")
    .replace(/[^0-9a-f]/gi, "");
  const usable = digits.length - (digits.length % 2);
  const bytes = new Uint8Array(usable / 2);
  for (let i = 0; i < usable; i += 2) bytes[i / 2] = Number.parseInt(digits.slice(i, i + 2), 16);
  return bytes;
}

export function parseOptions(text: string | undefined): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text === undefined) return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: `not JSON: ${messageOf(error)}` };
  }
}
