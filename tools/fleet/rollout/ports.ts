/**
 * What a rollout needs of the fleet service around it, declared here rather than imported: the
 * fleet's own files (server.ts, serve.ts) compose rollouts, so an import back from this folder
 * would tie the two folders into a circle (.dependency-cruiser.cjs, test/architecture.test.ts).
 * The fleet's types satisfy these as they are: tools/fleet/boxLink.ts's BoxLink is a RolloutLink,
 * access.ts's ScopedView a RolloutView, its Audience a RolloutAudience (serve.ts passes them).
 */
import type { ConfigReported, SiteLabels, SummaryPayload, UpdateStatePayload } from "../../../agent/core/api.ts";
import type { Role } from "../../roster/roles.ts";

/** As in boxLink.ts: which retained desired state and report. */
export type ReportKind = "config" | "update";

/** As in boxLink.ts: `update/state` with a result code a newer agent may add kept as text. */
export type UpdateReport = Omit<UpdateStatePayload, "result"> & { result: string | null };

/** As in boxLink.ts: a box's retained report, checked for shape. */
export type BoxReport =
  | { kind: "config"; deviceId: string; payload: ConfigReported }
  | { kind: "update"; deviceId: string; payload: UpdateReport };

/** The part of BoxLink (boxLink.ts) a rollout uses: each method as documented there. */
export interface RolloutLink {
  setDesired(deviceId: string, kind: ReportKind, payload: string): Promise<void>;
  desired(deviceId: string, kind: ReportKind): Promise<string | undefined>;
  reported(deviceId: string, kind: ReportKind): Promise<BoxReport | undefined>;
  follow(kind: ReportKind, listener: (report: BoxReport) => void): Promise<() => Promise<void>>;
  /** Resolves once connected to the broker (mqttBoxLink.ts); a link without it is taken as ready. */
  ready?(): Promise<void>;
}

/** The part of a BoxRow (model.ts) a rollout reads. */
export interface RolloutBoxRow {
  deviceId: string;
  site: SiteLabels;
  online: boolean;
  summary: SummaryPayload | null;
}

/** The boxes a person may see (access.ts's ScopedView): every one, one by id, whether one is theirs. */
export interface RolloutView {
  list(query: object): readonly RolloutBoxRow[];
  box(deviceId: string): RolloutBoxRow | undefined;
  sees(deviceId: string): boolean;
}

/** A person on the roster (access.ts's Audience). */
export interface RolloutAudience {
  readonly cn: string;
  readonly role: Role;
}
