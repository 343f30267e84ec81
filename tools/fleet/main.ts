/**
 * `thea fleet …`: the fleet service's commands (issue 16). `serve` composes the fleet's core —
 * the SQLite store (store/sqliteStore.ts), the fleet (fleet.ts) and the broker ingest (ingest.ts)
 * — with the web side (serve.ts, server.ts).
 */
import { fleetServeCommand, USAGE, type ClosableStore, type FleetCore, type FleetServeArgs } from "./serve.ts";
import type { FleetView } from "./model.ts";

// MERGE(wip-fleetcore): the core is built on its own branch. Once merged, replace `core` below with:
//   import { Fleet } from "./fleet.ts";
//   import { FleetIngest } from "./ingest.ts";
//   import { openSqliteStore } from "./store/sqliteStore.ts";
//   const core = { openStore: openSqliteStore, newFleet: (options) => new Fleet(options), newIngest: (settings) => new FleetIngest(settings) };
// and delete CoreMissing.
class CoreMissing extends Error {
  constructor() {
    super("this checkout does not have the fleet's core yet (tools/fleet/fleet.ts, store/sqliteStore.ts, ingest.ts)");
  }
}
const core: FleetCore<ClosableStore, FleetView> = {
  openStore: () => {
    throw new CoreMissing();
  },
  newFleet: () => {
    throw new CoreMissing();
  },
  newIngest: () => {
    throw new CoreMissing();
  },
};

export async function fleetCommand(rest: readonly string[], args: FleetServeArgs): Promise<number> {
  const [subcommand, ...extra] = rest;
  if (subcommand !== "serve" || extra.length > 0) {
    process.stderr.write(`thea fleet: ${subcommand === undefined ? "which command?" : `"${[subcommand, ...extra].join(" ")}" is not a fleet command`}\n${USAGE}`);
    return 2;
  }
  return fleetServeCommand(args, core);
}
