/**
 * Nonin serial Data Format #7 (xPod and WristOx2 3150 specifications, "Serial Data Format #7"):
 * frames `STATUS PLETH-MSB PLETH-LSB DATA CHK` with a 16-bit pleth and no start byte. A frame is
 * found by STATUS bit 7 set, DATA bit 7 clear (DATA is always 0–127) and the checksum; packets,
 * STATUS bits and DATA positions are as in Format #2.
 */
import { frameChecksum, NoninPacketDecoder, STATUS, type FrameLayout } from "./packet.ts";

export const FORMAT7: FrameLayout = {
  read(at) {
    const b = [at(0), at(1), at(2), at(3), at(4)];
    const [status = 0, msb = 0, lsb = 0, data = 0xff] = b;
    if ((status & STATUS.ALWAYS) === 0 || (data & 0x80) !== 0 || frameChecksum(b) !== b[4]) return undefined;
    return { status, pleth: (msb << 8) | lsb, data };
  },
  mismatch: "no valid Format #7 frame (status bit 7, data bit 7 or checksum)",
};

export const format7Decoder = () => new NoninPacketDecoder(FORMAT7);
