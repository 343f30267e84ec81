/**
 * Just enough HL7 v2 (chapter 2, control) to read a message's segments and fields and to answer
 * it: segments end in CR, fields split on MSH-1 and components on the first encoding character.
 */
export interface Hl7Message {
  segments: Segment[];
  /** MSH fields, numbered as the standard numbers them (msh(9) is the message type). */
  msh(field: number): string;
}

export interface Segment {
  id: string;
  /** Field n as the standard numbers it (OBX-5 is field(5)); "" when absent. */
  field(n: number): string;
  /** Component c (1-based) of field n. */
  component(n: number, c: number): string;
}

export type ParsedMessage = { ok: true; message: Hl7Message } | { ok: false; reason: string };

export function parseHl7(text: string): ParsedMessage {
  const lines = text.split(/\r\n|\r|\n/).filter((line) => line.length > 0);
  const header = lines[0];
  if (header === undefined || !header.startsWith("MSH") || header.length < 8) return { ok: false, reason: "no MSH segment" };
  const fieldSeparator = header[3] ?? "|";
  const componentSeparator = header[4] ?? "^";
  const segments = lines.map((line): Segment => {
    const parts = line.split(fieldSeparator);
    const id = parts[0] ?? "";
    // In MSH the field separator itself is MSH-1, so its fields sit one place to the left.
    const field = (n: number) => (id === "MSH" ? (n === 1 ? fieldSeparator : (parts[n - 1] ?? "")) : (parts[n] ?? ""));
    return { id, field, component: (n, c) => field(n).split(componentSeparator)[c - 1] ?? "" };
  });
  const msh = segments[0];
  if (!msh) return { ok: false, reason: "no MSH segment" };
  return { ok: true, message: { segments, msh: (n) => msh.field(n) } };
}

export type AckCode = "AA" | "AE" | "AR";

export interface AckContext {
  now: Date;
  controlId: string;
}

/**
 * The acknowledgement for `message` (HL7 v2 chapter 2, original acknowledgement mode): sender and
 * receiver swapped, MSA carrying the code and the original message control id, and for errors
 * the reason in MSA-3 and an ERR segment.
 */
export function buildAck(message: Hl7Message | undefined, code: AckCode, context: AckContext, reason?: string): string {
  const msh = (n: number) => message?.msh(n) ?? "";
  const version = msh(12) || "2.6";
  const segments = [
    ["MSH", "^~\\&", msh(5), msh(6), msh(3), msh(4), hl7Timestamp(context.now), "", "ACK^R01^ACK", context.controlId, msh(11) || "P", version].join("|"),
    ["MSA", code, msh(10), reason ?? ""].join("|").replace(/\|$/, ""),
  ];
  if (code !== "AA" && reason) segments.push(["ERR", "", "", code === "AR" ? "200^Unsupported message type^HL70357" : "207^Application internal error^HL70357", "E", "", "", "", escapeHl7(reason)].join("|"));
  return `${segments.join("\r")}\r`;
}

/** YYYYMMDDHHMMSS+ZZZZ in UTC. */
export function hl7Timestamp(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}+0000`;
}

/**
 * HL7 TS/DTM (YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]) to ISO 8601; without a zone the result has
 * none either (the device's local time). Undefined when it is not a timestamp.
 */
export function isoFromHl7(value: string): string | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$/.exec(value.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second = "00", fraction, zone] = match;
  if (Number(month) < 1 || Number(month) > 12 || Number(day) < 1 || Number(day) > 31 || Number(hour) > 23 || Number(minute) > 59) return undefined;
  const base = `${year}-${month}-${day}T${hour}:${minute}:${second}${fraction ? `.${fraction}` : ""}`;
  return zone ? `${base}${zone.slice(0, 3)}:${zone.slice(3)}` : base;
}

function escapeHl7(text: string): string {
  return text.replace(/\\/g, "\\E\\").replace(/\|/g, "\\F\\").replace(/\^/g, "\\S\\").replace(/&/g, "\\T\\").replace(/~/g, "\\R\\");
}
