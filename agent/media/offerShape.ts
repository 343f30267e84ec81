/**
 * What a viewer's offer must look like before werift is given it. werift makes a transceiver for
 * every media section, an ICE transport (with its sockets and gathering) for every BUNDLE group
 * and for every section outside one: an offer of 140 unbundled sections cost ~1.2 s and ~300
 * file descriptors. A viewer needs one video section and at most one audio section (a browser
 * offers sound even to a camera without it; the answer refuses that section), all in one BUNDLE
 * group (RFC 9143 §7.1), so one transport. A camera with a stethoscope serves one audio section
 * more (its own track), and only such a camera. Only the lines that decide this are read.
 */

/** One video and one audio section: what a camera serves (picture; sound or talk-back). */
export const MAX_OFFER_SECTIONS = { video: 1, audio: 1 } as const;

export interface OfferSection {
  kind: keyof typeof MAX_OFFER_SECTIONS;
  mid: string | undefined;
  /** Port 0 marks a section the offerer itself rejects (RFC 8843 §7.3.3): it needs no bundling. */
  rejected: boolean;
}

export type OfferShape =
  | { ok: true; sections: OfferSection[]; candidates: number }
  | { ok: false; message: string };

export interface OfferShapeLimits {
  maxChars: number;
  /** Candidates the offer may carry (they count towards the session's candidate limit). */
  maxCandidates: number;
  /** Audio sections the camera serves: 1, or 2 with a stethoscope (clinicalAudio). */
  maxAudioSections?: 1 | 2;
}

/** Checks an offer's shape; never throws, whatever the text. */
export function checkOfferShape(sdp: string, limits: OfferShapeLimits): OfferShape {
  if (sdp.length > limits.maxChars) return refuse(`${sdp.length} characters; the limit is ${limits.maxChars}`);
  const lines = sdp.split(/\r?\n/);
  const sections: OfferSection[] = [];
  const bundles: string[][] = [];
  let candidates = 0;
  const most = { video: MAX_OFFER_SECTIONS.video, audio: limits.maxAudioSections ?? MAX_OFFER_SECTIONS.audio };
  for (const line of lines) {
    if (line.startsWith("m=")) {
      const [kind, port] = line.slice(2).split(" ");
      if (kind !== "video" && kind !== "audio") return refuse(`a media section of kind "${clip(kind)}"; a camera serves video and audio only`);
      sections.push({ kind, mid: undefined, rejected: port === "0" });
      const count = sections.filter((section) => section.kind === kind).length;
      if (count > most[kind]) return refuse(`more than ${most[kind]} ${kind} section(s); this camera serves one video and at most ${most.audio} audio`);
    } else if (line.startsWith("a=mid:")) {
      const section = sections.at(-1);
      if (section && section.mid === undefined) section.mid = line.slice("a=mid:".length).trim();
    } else if (line.startsWith("a=group:BUNDLE")) {
      if (sections.length > 0) return refuse("a=group:BUNDLE inside a media section; it belongs to the session part");
      bundles.push(line.slice("a=group:BUNDLE".length).trim().split(/\s+/).filter(Boolean));
    } else if (line.startsWith("a=candidate:")) {
      candidates += 1;
      if (candidates > limits.maxCandidates) return refuse(`more than ${limits.maxCandidates} candidates`);
    }
  }
  if (!sections.some((section) => section.kind === "video")) return refuse("no video section");
  return bundled(sections, bundles) ?? { ok: true, sections, candidates };
}

/** A refusal unless every section that is not rejected has a mid, and all are in one BUNDLE group. */
function bundled(sections: OfferSection[], bundles: string[][]): OfferShape | undefined {
  if (bundles.length !== 1 || !bundles[0]) return refuse(`${bundles.length} a=group:BUNDLE lines; exactly one, with every media section in it, is required`);
  const group = new Set(bundles[0]);
  const mids = new Set<string>();
  for (const [index, section] of sections.entries()) {
    if (section.rejected) continue;
    if (!section.mid) return refuse(`media section ${index} has no a=mid`);
    if (mids.has(section.mid)) return refuse(`two media sections with a=mid:${clip(section.mid)}`);
    mids.add(section.mid);
    if (!group.has(section.mid)) return refuse(`media section ${index} (a=mid:${clip(section.mid)}) is not in the BUNDLE group`);
  }
  return undefined;
}

function refuse(what: string): OfferShape {
  return { ok: false, message: `sdp: ${what}` };
}

/** A remote value quoted in an error message, kept short. */
function clip(value: string | undefined): string {
  return (value ?? "").slice(0, 32);
}
