/**
 * The part of the fleet service a rollout uses, as narrowed views of the fleet's own types. Those
 * types live in tools/fleet/types/, below both this folder and the fleet's files that compose
 * rollouts (server.ts, serve.ts), so that neither folder imports the other (.dependency-cruiser.cjs,
 * test/architecture.test.ts) and each type is declared once. The fleet's values satisfy these as
 * they are: a BoxLink is a RolloutLink, access.ts's ScopedView a RolloutView, its Audience a
 * RolloutAudience (serve.ts passes them); tests pass smaller stand-ins.
 */
import type { Audience } from "../types/audience.ts";
import type { BoxLink } from "../types/boxLink.ts";
import type { BoxState } from "../types/boxState.ts";

/** The part of BoxLink a rollout uses. */
export type RolloutLink = Pick<BoxLink, "setDesired" | "desired" | "reported" | "follow"> & {
  /** Resolves once connected to the broker (mqttBoxLink.ts); a link without it is taken as ready. */
  ready?(): Promise<void>;
};

/** The part of a box's row a rollout reads. */
export type RolloutBoxRow = Pick<BoxState, "deviceId" | "site" | "online" | "summary">;

/** The boxes a person may see (access.ts's ScopedView): every one, one by id, whether one is theirs. */
export interface RolloutView {
  list(query: object): readonly RolloutBoxRow[];
  box(deviceId: string): RolloutBoxRow | undefined;
  sees(deviceId: string): boolean;
}

/** A person on the roster: who they are and their role, not which boxes (the view says that). */
export type RolloutAudience = Pick<Audience, "cn" | "role">;
