/**
 * The stethoscope section of the box's answer: its Opus parameters say what the box sends (mono,
 * constant bitrate), and the other sections are left as werift wrote them.
 */
import { describe, expect, it } from "vitest";
import { audioSections, withClinicalFmtp } from "../../../agent/media/clinicalTrack.ts";

const ANSWER = [
  "v=0",
  "o=- 1 0 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1 2",
  "m=video 9 UDP/TLS/RTP/SAVPF 96",
  "a=mid:0",
  "a=rtpmap:96 H264/90000",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "a=mid:1",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "m=audio 9 UDP/TLS/RTP/SAVPF 109",
  "a=mid:2",
  "a=msid:thea-stethoscope stethoscope",
  "a=rtpmap:109 opus/48000/2",
  "a=fmtp:109 minptime=10;useinbandfec=1",
  "a=sendonly",
  "",
].join("\r\n");

describe("the stethoscope's answer section", () => {
  it("states mono, CBR at the configured bitrate, no FEC, in its own section only", () => {
    const answer = withClinicalFmtp(ANSWER, "2", 96);
    expect(answer).toContain("a=rtpmap:109 opus/48000/2\r\na=fmtp:109 minptime=10;useinbandfec=0;stereo=0;sprop-stereo=0;cbr=1;maxaveragebitrate=96000\r\na=sendonly");
    expect(answer).not.toContain("a=fmtp:109 minptime=10;useinbandfec=1");
    expect(answer).toContain("a=fmtp:111 minptime=10;useinbandfec=1"); // the room's untouched
    expect(answer.split("\r\n")).toHaveLength(ANSWER.split("\r\n").length);
  });

  it("adds the parameters when werift wrote none, and leaves an answer without that section alone", () => {
    const bare = ANSWER.replace("a=fmtp:109 minptime=10;useinbandfec=1\r\n", "");
    expect(withClinicalFmtp(bare, "2", 64)).toContain("a=rtpmap:109 opus/48000/2\r\na=fmtp:109 minptime=10;useinbandfec=0;stereo=0;sprop-stereo=0;cbr=1;maxaveragebitrate=64000\r\n");
    expect(withClinicalFmtp(ANSWER, "7", 96)).toBe(ANSWER);
  });

  it("counts an offer's audio sections", () => {
    expect(audioSections(ANSWER)).toBe(2);
    expect(audioSections("v=0\nm=video 9 x 96\n")).toBe(0);
  });
});
