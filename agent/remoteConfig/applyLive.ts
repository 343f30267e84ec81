/**
 * Which live change of a remote config reconfigures what (the config service has already decided
 * that every change in it can be taken without a restart: config/remote.ts needsRestart).
 */
import type { CameraConfig, PeripheralConfig, ResolvedConfig } from "../../config/schema.ts";
import type { LogLevel } from "../../lib/log.ts";
import type { Reconfigurable } from "../core/service.ts";
import type { ConfigServiceOptions } from "./service.ts";

/** The services a live change reaches, as the composition root hands them over. */
export interface LiveServices {
  /** Refuses (consultation-live) when a watched camera would change. */
  cameras: { reconfigureCameras(cameras: readonly CameraConfig[]): Promise<void> };
  /** Makes `config` the one every service reads from then on. */
  replaceConfig(config: ResolvedConfig, hash: string): void;
  logLevels: { set(level: LogLevel): void };
  /** Services reading telemetry.* intervals: they take them again from the context. */
  telemetry: readonly Reconfigurable[];
  peripherals: Reconfigurable<readonly PeripheralConfig[]>;
}

export function liveReconfiguration(services: LiveServices): ConfigServiceOptions["applyLive"] {
  return async (config, hash, changed) => {
    // Cameras first: a watched camera refuses, and then nothing else has been changed yet.
    if (changed.includes("cameras")) await services.cameras.reconfigureCameras(config.cameras);
    services.replaceConfig(config, hash);
    if (changed.includes("log")) services.logLevels.set(config.log.level);
    if (changed.includes("telemetry")) for (const service of services.telemetry) await service.reconfigure();
    if (changed.includes("peripherals")) await services.peripherals.reconfigure(config.peripherals);
  };
}
