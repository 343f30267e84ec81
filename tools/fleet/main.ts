/**
 * `thea fleet …`: the fleet service's commands (issue 16). `serve` composes the fleet's core —
 * the store (sqliteStore.ts, or pgStore.ts with --store), the fleet (fleet.ts), the broker
 * ingest (ingest.ts) and the link to the boxes (mqttBoxLink.ts) — with the web side (serve.ts, server.ts).
 */
import { Fleet } from "./fleet.ts";
import { FleetIngest } from "./ingest.ts";
import { MqttBoxLink } from "./mqttBoxLink.ts";
import { fleetServeCommand, USAGE, type FleetCore, type FleetServeArgs } from "./serve.ts";
import type { FleetStore } from "./store.ts";
import { openPgStore } from "./pgStore.ts";
import { openSqliteStore } from "./sqliteStore.ts";
import { ROLLOUT_USAGE, rolloutCommand, type RolloutCliArgs } from "./rollout/cli.ts";

const core: FleetCore<FleetStore, Fleet> = {
  openStore: (location, log) => (location.kind === "sqlite" ? openSqliteStore(location.file) : openPgStore({ url: location.url, log })),
  newFleet: (options) => new Fleet(options),
  newIngest: (settings) => new FleetIngest(settings),
  newLink: (settings) => new MqttBoxLink(settings),
};

export async function fleetCommand(rest: readonly string[], args: FleetServeArgs & { rollout?: RolloutCliArgs }): Promise<number> {
  const [subcommand, ...extra] = rest;
  if (subcommand === "rollout") return rolloutCommand(extra, { ...args.rollout, cert: args.cert, key: args.key, ca: args.ca });
  if (subcommand !== "serve" || extra.length > 0) {
    process.stderr.write(`thea fleet: ${subcommand === undefined ? "which command?" : `"${[subcommand, ...extra].join(" ")}" is not a fleet command`}\n${USAGE}${ROLLOUT_USAGE}`);
    return 2;
  }
  return fleetServeCommand(args, core);
}
