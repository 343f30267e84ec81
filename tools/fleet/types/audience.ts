/**
 * A person of the roster as the fleet service serves them (../access.ts makes one from a verified
 * certificate's CN). Here, below tools/fleet/ and tools/fleet/rollout/, because both read it and
 * the fleet's files compose rollouts (an import back up would be a folder cycle,
 * .dependency-cruiser.cjs).
 */
import type { Role } from "../../roster/roles.ts";

/** What one person may see: their boxes by deviceId, or every box. */
export interface Audience {
  readonly cn: string;
  readonly role: Role;
  readonly boxes: ReadonlySet<string> | "all";
}
