import { describe, expect, it } from "vitest";
import { clearParameterSetMarker, h264NalTypes } from "../../../agent/media/rtp.ts";

/** An RTP packet (version 2, PT 96) with the marker bit as given and this payload. */
function rtp(marker: boolean, payload: number[]): Uint8Array {
  return Uint8Array.from([0x80, (marker ? 0x80 : 0) | 96, 0, 1, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, ...payload]);
}

const SPS = [0x67, 0x42, 0xe0, 0x1f];
const PPS = [0x68, 0xce, 0x3c];
const stapA = (...nals: number[][]) => [0x18, ...nals.flatMap((nal) => [nal.length >> 8, nal.length & 0xff, ...nal])];

describe("H.264 RTP payloads", () => {
  it("lists the NAL types of a single NAL and of a STAP-A", () => {
    expect(h264NalTypes(rtp(false, [0x65, 1, 2]))).toEqual([5]);
    expect(h264NalTypes(rtp(true, stapA(SPS, PPS)))).toEqual([7, 8]);
    expect(h264NalTypes(Uint8Array.from([0x80, 96]))).toEqual([]);
  });

  it("clears the marker only on packets carrying nothing but parameter sets", () => {
    const parameterSets = rtp(true, stapA(SPS, PPS));
    expect(clearParameterSetMarker(parameterSets)).toBe(true);
    expect((parameterSets[1] ?? 0) & 0x80).toBe(0);
    expect(parameterSets[1]).toBe(96);

    const endOfFrame = rtp(true, stapA(SPS, PPS, [0x65, 0x88]));
    expect(clearParameterSetMarker(endOfFrame)).toBe(false);
    expect((endOfFrame[1] ?? 0) & 0x80).toBe(0x80);
    expect(clearParameterSetMarker(rtp(false, SPS))).toBe(false);
  });

  it("skips CSRCs and a header extension to find the payload", () => {
    const packet = Uint8Array.from([0x91, 0xe0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9, 0xbe, 0xde, 0, 1, 0x10, 0, 0, 0, ...SPS]);
    expect(h264NalTypes(packet)).toEqual([7]);
    expect(clearParameterSetMarker(packet)).toBe(true);
  });
});
