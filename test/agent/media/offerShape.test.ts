/**
 * The offer shape check that runs before werift sees a viewer's offer: a browser's offer passes,
 * anything asking for more transports than one bundled video and audio pair is refused, and no
 * text makes it throw (fuzzed, as every remote input is: test/agent/commands/request.test.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkOfferShape } from "../../../agent/media/offerShape.ts";

const LIMITS = { maxChars: 32 * 1024, maxCandidates: 32 };

/** The parts of a browser's offer (Chromium 13x, video and audio recvonly) the check reads, and some it skips. */
const SESSION = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1", "a=extmap-allow-mixed", "a=msid-semantic: WMS"];
const section = (kind: string, mid: string, port = "9") => [
  `m=${kind} ${port} UDP/TLS/RTP/SAVPF ${kind === "video" ? "96 97 98" : "111"}`,
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:Hn0s",
  "a=ice-pwd:f6bJWwPCRpSUHa1pxoTmB8Pf",
  "a=fingerprint:sha-256 6B:8B:5A:3C:1E:E5:7C:2F:A2:7D:9C:8E:31:04:6E:0B:AF:64:80:6A:C8:A8:55:1B:25:8D:2B:E6:DC:A2:F6:11",
  "a=setup:actpass",
  `a=mid:${mid}`,
  "a=recvonly",
  "a=rtcp-mux",
];
const offer = (lines: string[]) => [...lines, ""].join("\r\n");
const BROWSER_OFFER = offer([...SESSION, ...section("video", "0"), ...section("audio", "1")]);

/** The offer that opened ~300 sockets: the same video section 140 times, no BUNDLE group. */
function unbundled(sections: number): string {
  const lines = SESSION.filter((line) => !line.startsWith("a=group:"));
  for (let mid = 0; mid < sections; mid += 1) lines.push(...section("video", String(mid)));
  return offer(lines);
}

describe("checkOfferShape", () => {
  it("passes a browser's offer: one video and one audio section, bundled", () => {
    expect(checkOfferShape(BROWSER_OFFER, LIMITS)).toEqual({
      ok: true,
      candidates: 0,
      sections: [
        { kind: "video", mid: "0", rejected: false },
        { kind: "audio", mid: "1", rejected: false },
      ],
    });
    const videoOnly = offer([...SESSION.map((line) => line.replace("BUNDLE 0 1", "BUNDLE 0")), ...section("video", "0")]);
    expect(checkOfferShape(videoOnly, LIMITS)).toMatchObject({ ok: true });
  });

  it("counts the candidates an offer carries, and refuses more than the limit", () => {
    const candidate = (n: number) => `a=candidate:${n} 1 udp 2122260223 192.0.2.${n} 5${String(n).padStart(4, "0")} typ host`;
    const withCandidates = (count: number) => offer([...SESSION, ...section("video", "0"), ...Array.from({ length: count }, (_, n) => candidate(n))]);
    expect(checkOfferShape(withCandidates(3), LIMITS)).toMatchObject({ ok: true, candidates: 3 });
    expect(checkOfferShape(withCandidates(33), LIMITS)).toEqual({ ok: false, message: "sdp: more than 32 candidates" });
  });

  it("refuses the 140-section unbundled offer, and a second video section even when bundled", () => {
    const huge = unbundled(140);
    expect(huge.length).toBeGreaterThan(40_000);
    expect(checkOfferShape(huge, { ...LIMITS, maxChars: 64 * 1024 })).toMatchObject({ ok: false, message: expect.stringContaining("more than 1 video section") });
    const twoVideos = offer([...SESSION.map((line) => line.replace("BUNDLE 0 1", "BUNDLE 0 1 2")), ...section("video", "0"), ...section("audio", "1"), ...section("video", "2")]);
    expect(checkOfferShape(twoVideos, LIMITS)).toMatchObject({ ok: false, message: expect.stringContaining("more than 1 video section") });
  });

  it("refuses an offer over the size limit before reading it", () => {
    expect(checkOfferShape(unbundled(140), LIMITS)).toMatchObject({ ok: false, message: expect.stringMatching(/^sdp: \d+ characters; the limit is 32768$/) });
  });

  it.each([
    ["no BUNDLE group", offer([...SESSION.filter((line) => !line.startsWith("a=group:")), ...section("video", "0"), ...section("audio", "1")]), /0 a=group:BUNDLE lines/],
    ["two BUNDLE groups", offer([...SESSION.map((line) => line.replace("BUNDLE 0 1", "BUNDLE 0")), "a=group:BUNDLE 1", ...section("video", "0"), ...section("audio", "1")]), /2 a=group:BUNDLE lines/],
    ["a section outside the group", offer([...SESSION.map((line) => line.replace("BUNDLE 0 1", "BUNDLE 0")), ...section("video", "0"), ...section("audio", "1")]), /section 1 \(a=mid:1\) is not in the BUNDLE group/],
    ["a section without a mid", offer([...SESSION, ...section("video", "0"), ...section("audio", "1").filter((line) => !line.startsWith("a=mid:"))]), /section 1 has no a=mid/],
    ["two sections with one mid", offer([...SESSION, ...section("video", "0"), ...section("audio", "0")]), /two media sections with a=mid:0/],
    ["a data channel", offer([...SESSION, ...section("video", "0"), "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:1"]), /kind "application"/],
    ["no video", offer([...SESSION, ...section("audio", "1")]), /no video section/],
    ["a BUNDLE line inside a section", offer([...SESSION, ...section("video", "0"), "a=group:BUNDLE 0"]), /inside a media section/],
  ])("refuses an offer with %s", (_, sdp, message) => {
    expect(checkOfferShape(sdp, LIMITS)).toMatchObject({ ok: false, message: expect.stringMatching(message) });
  });

  it("needs no mid or bundling for a section the offerer rejects itself (port 0)", () => {
    const rejectedAudio = offer([...SESSION.map((line) => line.replace("BUNDLE 0 1", "BUNDLE 0")), ...section("video", "0"), ...section("audio", "1", "0")]);
    expect(checkOfferShape(rejectedAudio, LIMITS)).toMatchObject({ ok: true });
  });

  it("answers any text with a shape or a refusal, never a throw, and never passes more than one video and one audio section", () => {
    const sdpLine = fc.oneof(
      fc.constantFrom(...SESSION, ...section("video", "0"), ...section("audio", "1"), "m=video 0 UDP/TLS/RTP/SAVPF 96", "a=mid:", "a=group:BUNDLE", "m=", "a=candidate:"),
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 8 }).map((tail) => `a=mid:${tail}`),
      fc.string({ maxLength: 8 }).map((tail) => `m=${tail}`),
    );
    fc.assert(
      fc.property(fc.array(sdpLine, { maxLength: 60 }), fc.constantFrom("\r\n", "\n"), (lines, eol) => {
        const shape = checkOfferShape(lines.join(eol), LIMITS);
        if (!shape.ok) {
          expect(shape.message).toMatch(/^sdp: /);
          expect(shape.message.length).toBeLessThan(200);
          return;
        }
        expect(shape.sections.filter((s) => s.kind === "video")).toHaveLength(1);
        expect(shape.sections.filter((s) => s.kind === "audio").length).toBeLessThanOrEqual(1);
        expect(shape.candidates).toBeLessThanOrEqual(LIMITS.maxCandidates);
      }),
      { numRuns: 1000 },
    );
  });

  it("passes a second audio section (the stethoscope's) only for a camera that has one, and never a third", () => {
    const withStethoscope = (audios: number) =>
      offer([
        ...SESSION.map((line) => line.replace("BUNDLE 0 1", ["BUNDLE 0", ...Array.from({ length: audios }, (_, n) => String(n + 1))].join(" "))),
        ...section("video", "0"),
        ...Array.from({ length: audios }, (_, n) => section("audio", String(n + 1))).flat(),
      ]);
    expect(checkOfferShape(withStethoscope(2), LIMITS)).toEqual({ ok: false, message: "sdp: more than 1 audio section(s); this camera serves one video and at most 1 audio" });
    expect(checkOfferShape(withStethoscope(2), { ...LIMITS, maxAudioSections: 2 })).toMatchObject({ ok: true, sections: [{ kind: "video" }, { kind: "audio", mid: "1" }, { kind: "audio", mid: "2" }] });
    expect(checkOfferShape(withStethoscope(3), { ...LIMITS, maxAudioSections: 2 })).toMatchObject({ ok: false, message: expect.stringContaining("more than 2 audio section(s)") });
    // The second audio section obeys the same bundling rule as the others.
    const unbundledSecond = withStethoscope(2).replace("a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 1");
    expect(checkOfferShape(unbundledSecond, { ...LIMITS, maxAudioSections: 2 })).toMatchObject({ ok: false, message: expect.stringContaining("(a=mid:2) is not in the BUNDLE group") });
  });

  it("never passes more than two audio sections to a camera with a stethoscope, whatever the text", () => {
    const sdpLine = fc.oneof(
      fc.constantFrom(...SESSION, ...section("video", "0"), ...section("audio", "1"), ...section("audio", "2"), ...section("audio", "3"), "a=group:BUNDLE 0 1 2 3"),
      fc.string({ maxLength: 8 }).map((tail) => `a=mid:${tail}`),
    );
    fc.assert(
      fc.property(fc.array(sdpLine, { maxLength: 80 }), (lines) => {
        const shape = checkOfferShape(lines.join("\r\n"), { ...LIMITS, maxAudioSections: 2 });
        if (shape.ok) expect(shape.sections.filter((s) => s.kind === "audio").length).toBeLessThanOrEqual(2);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses every offer with more sections than a camera serves, however they are bundled", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("video", "audio"), { minLength: 3, maxLength: 20 }), fc.boolean(), (kinds, bundle) => {
        const mids = kinds.map((_, index) => String(index));
        const lines = [...SESSION.filter((line) => !line.startsWith("a=group:")), ...(bundle ? [`a=group:BUNDLE ${mids.join(" ")}`] : [])];
        kinds.forEach((kind, index) => lines.push(...section(kind, String(index))));
        expect(checkOfferShape(offer(lines), LIMITS)).toMatchObject({ ok: false });
      }),
      { numRuns: 200 },
    );
  });
});
