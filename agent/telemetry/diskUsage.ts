/**
 * When the data disk is too full to ignore: one warning event per crossing, not one per health
 * report (the hysteresis keeps a disk hovering at the threshold from flooding the outbox).
 */
/** Warns once when the data disk passes 80 % and again only after it has been below 75 %. */
export class DiskUsageWatch {
  static readonly WARN_PERCENT = 80;
  static readonly REARM_PERCENT = 75;
  #warned = false;

  /** True when this figure should raise the warning. */
  check(usedPercent: number): boolean {
    if (usedPercent < DiskUsageWatch.REARM_PERCENT) this.#warned = false;
    if (this.#warned || usedPercent < DiskUsageWatch.WARN_PERCENT) return false;
    this.#warned = true;
    return true;
  }
}
