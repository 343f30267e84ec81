/**
 * The stethoscope's track in a viewer's session: how the browser tells it from the room's sound
 * (its own media section, msid and track id), and the Opus parameters its answer states. Pure
 * text work on SDP, so it is unit-tested without a peer connection.
 */

/** The msid (RFC 8830 §2) of the stethoscope's track: stream id and track id. */
export const CLINICAL_MSID = { stream: "thea-stethoscope", track: "stethoscope" } as const;

/** Audio sections in an offer (its shape is checked already: offerShape.ts). */
export function audioSections(sdp: string): number {
  return sdp.split(/\r?\n/).filter((line) => line.startsWith("m=audio ")).length;
}

/**
 * The answer with the stethoscope section's Opus format parameters (RFC 7587 §6.1) set to what
 * the box sends: mono (`stereo=0`, `sprop-stereo=0`), constant bitrate (`cbr=1`) at
 * `maxaveragebitrate`, and no in-band FEC (libopus carries FEC only in SILK frames; a generic
 * encode at these rates is CELT). The other sections are left as werift wrote them.
 */
export function withClinicalFmtp(answerSdp: string, mid: string, bitrateKbps: number): string {
  const eol = answerSdp.includes("\r\n") ? "\r\n" : "\n";
  const lines = answerSdp.split(/\r?\n/);
  const sections = mediaSections(lines);
  const target = sections.find((section) => section.mid === mid);
  if (!target?.opus) return answerSdp;
  const fmtp = `a=fmtp:${target.opus} minptime=10;useinbandfec=0;stereo=0;sprop-stereo=0;cbr=1;maxaveragebitrate=${bitrateKbps * 1000}`;
  const end = sections.find((section) => section.start > target.start)?.start ?? lines.length;
  const body = lines.slice(target.start, end).filter((line) => !line.startsWith(`a=fmtp:${target.opus} `));
  body.splice(body.findIndex((line) => line.startsWith(`a=rtpmap:${target.opus} `)) + 1, 0, fmtp);
  return [...lines.slice(0, target.start), ...body, ...lines.slice(end)].join(eol);
}

interface MediaSection {
  /** Index of its m= line. */
  start: number;
  mid: string | undefined;
  /** Opus's payload type in it, if it has Opus. */
  opus: string | undefined;
}

function mediaSections(lines: readonly string[]): MediaSection[] {
  const sections: MediaSection[] = [];
  for (const [index, line] of lines.entries()) {
    const section = sections.at(-1);
    if (line.startsWith("m=")) sections.push({ start: index, mid: undefined, opus: undefined });
    else if (section && line.startsWith("a=mid:")) section.mid = line.slice("a=mid:".length).trim();
    else if (section && /^a=rtpmap:\d+ opus\/48000/i.test(line)) section.opus = line.slice("a=rtpmap:".length).split(" ")[0];
  }
  return sections;
}
