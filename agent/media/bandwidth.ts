/**
 * The bitrate control law, per viewer, run once a second. Pure.
 *
 * Two signals from the viewer's browser: its receiver-side estimate (REMB, from delay growth),
 * and the loss it reports in RTCP receiver reports. Loss follows the loss-based controller of
 * Google Congestion Control (draft-ietf-rmcat-gcc-02 §6): above 10 % loss the rate drops by half
 * the loss fraction, below 2 % it grows 5 %, in between (or with no report) it holds. The
 * viewer's estimate is the lower of the two; the camera then encodes at the lowest estimate of all its viewers, clamped
 * to the configured min and max (fanOut.ts), because one encode is shared by everyone.
 */
export interface BandwidthSample {
  /** What the encoder is set to now. */
  currentKbps: number;
  /** Fraction lost (0–1) over the last period (LossWindow), if reports came in it. */
  fractionLost: number | undefined;
  /** The receiver's REMB estimate, if it sends one. */
  rembKbps: number | undefined;
}

const HIGH_LOSS = 0.1;
const LOW_LOSS = 0.02;
const GROWTH = 1.05;

export function nextEstimateKbps(sample: BandwidthSample): number {
  const { currentKbps, fractionLost, rembKbps } = sample;
  let lossBased = currentKbps;
  if (fractionLost !== undefined && fractionLost > HIGH_LOSS) lossBased = currentKbps * (1 - 0.5 * fractionLost);
  else if (fractionLost !== undefined && fractionLost < LOW_LOSS) lossBased = currentKbps * GROWTH;
  return rembKbps !== undefined && rembKbps > 0 ? Math.min(lossBased, rembKbps) : lossBased;
}

/**
 * Loss over the control period, from receiver reports (RFC 3550 §6.4.1). A browser sends a report
 * with nearly every feedback packet, each one's `fraction lost` covering the packets since the one
 * before; the period's loss is their average weighted by how many packets each covered. This is
 * the loss the link inflicts, before NACK resends repair it (the cumulative count, which resends
 * bring back down, would hide a link dropping 40 % behind a picture that still plays — while the
 * resends add to the load on it).
 */
export class LossWindow {
  #highest: number | undefined;
  #lost = 0;
  #covered = 0;

  /** A report: its fraction lost (0–1) and extended highest sequence number received. */
  report(fractionLost: number, highestSequence: number): void {
    const covered = this.#highest === undefined ? 0 : highestSequence - this.#highest;
    this.#highest = Math.max(this.#highest ?? highestSequence, highestSequence);
    if (covered <= 0) return; // the first report, or one that saw no new packets
    this.#lost += fractionLost * covered;
    this.#covered += covered;
  }

  /** The packet-weighted loss since the previous sample, or undefined without reports to tell. */
  sample(): number | undefined {
    const loss = this.#covered > 0 ? this.#lost / this.#covered : undefined;
    this.#lost = 0;
    this.#covered = 0;
    return loss;
  }
}
