/**
 * Nonin serial Data Format #2: frames `01 STATUS PLETH DATA CHK` (8-bit pleth), found by the
 * 01 start byte, STATUS bit 7 and the checksum.
 */
import { frameChecksum, NoninPacketDecoder, STATUS, type FrameLayout } from "./packet.ts";

const START = 0x01;

export const FORMAT2: FrameLayout = {
  read(at) {
    const b = [at(0), at(1), at(2), at(3), at(4)];
    if (b[0] !== START || ((b[1] ?? 0) & STATUS.ALWAYS) === 0 || frameChecksum(b) !== b[4]) return undefined;
    return { status: b[1] ?? 0, pleth: b[2] ?? 0, data: b[3] ?? 0 };
  },
  mismatch: "no valid Format #2 frame (start byte, status bit 7 or checksum)",
};

export const format2Decoder = () => new NoninPacketDecoder(FORMAT2);
