/**
 * A rollout's plan, from what a technician asked and the boxes they see (pure): which boxes, in
 * which batch, and the exact retained payload each is sent. A dry run answers this and nothing
 * else; creating a rollout stores it and hands it to the engine.
 */
import { manifestSchema, signedManifestSchema } from "../../../agent/update/manifest.ts";
import type { RolloutBoxRow as BoxRow } from "./ports.ts";
import type { Amount, PlannedBox, RolloutPlan, RolloutSpec, SkippedBox } from "./model.ts";

/**
 * The box's own cap on `config/desired` and `update/desired` (mqtt.maxPayloadBytes, 256 KiB by
 * default; docs/mqtt-api.md, "payload-too-large"): a bigger one would be refused by every box.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export type Planned = { ok: true; plan: RolloutPlan } | { ok: false; error: string };

/** `rows`: the boxes the person may see (their narrowed view), in any order. */
export function planRollout(spec: RolloutSpec, rows: readonly BoxRow[], nowMs: number): Planned {
  const selected = select(spec, rows);
  if (typeof selected === "string") return { ok: false, error: selected };
  const change = spec.change.kind === "release" ? releaseChange(spec.change.manifest, selected, nowMs) : configChange(spec.change, selected);
  if (typeof change === "string") return { ok: false, error: change };
  if (Buffer.byteLength(change.payload) > MAX_PAYLOAD_BYTES) return { ok: false, error: `the change is ${Buffer.byteLength(change.payload)} bytes; a box takes at most ${MAX_PAYLOAD_BYTES}` };
  const batches = batchesOf(change.boxes.length, spec.canary, spec.batchSize);
  const boxes: PlannedBox[] = change.boxes.map((row, index) => ({
    deviceId: row.deviceId,
    site: row.site,
    from: change.from(row),
    batch: batches[index] ?? 0,
  }));
  boxes.sort((a, b) => a.batch - b.batch || a.deviceId.localeCompare(b.deviceId));
  return {
    ok: true,
    plan: {
      kind: spec.change.kind === "release" ? "update" : "config",
      target: change.target,
      payload: change.payload,
      boxes,
      skipped: change.skipped,
      batches: boxes.length === 0 ? 0 : Math.max(...batches) + 1,
      failureThreshold: spec.failureThreshold,
      boxDeadlineMs: spec.boxDeadlineMs,
    },
  };
}

/** The boxes the selection names among those the person sees, in site order; or what is wrong. */
function select(spec: RolloutSpec, rows: readonly BoxRow[]): BoxRow[] | string {
  const { province, district, commune, version, deviceIds } = spec.selection;
  const byId = new Map(rows.map((row) => [row.deviceId, row]));
  // A box outside the person's sites is as unknown as one that does not exist (access.ts).
  const unknown = (deviceIds ?? []).filter((deviceId) => !byId.has(deviceId));
  if (unknown.length > 0) return `no box ${unknown.slice(0, 5).join(", ")}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ""}`;
  const named = deviceIds && new Set(deviceIds);
  const chosen = rows.filter(
    (row) =>
      (province === undefined || row.site.province === province) &&
      (district === undefined || row.site.district === district) &&
      (commune === undefined || row.site.commune === commune) &&
      (version === undefined || row.summary?.version === version) &&
      (named === undefined || named.has(row.deviceId)),
  );
  if (chosen.length === 0) return "the selection holds no box";
  return chosen.sort(bySite);
}

function bySite(a: BoxRow, b: BoxRow): number {
  const key = (row: BoxRow) => [row.site.province ?? "", row.site.district ?? "", row.site.commune ?? "", row.deviceId];
  const [x, y] = [key(a), key(b)];
  for (let i = 0; i < x.length; i += 1) {
    const order = (x[i] ?? "").localeCompare(y[i] ?? "");
    if (order !== 0) return order;
  }
  return 0;
}

interface Change {
  target: string | number;
  payload: string;
  boxes: BoxRow[];
  skipped: SkippedBox[];
  from(row: BoxRow): string | number | null;
}

function releaseChange(text: string, rows: BoxRow[], nowMs: number): Change | string {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return "the release is not JSON: give the .manifest.json file `thea release pack` wrote";
  }
  const signed = signedManifestSchema.safeParse(document);
  if (!signed.success) return "the release is not a signed manifest ({manifest, keyId, signature}) as `thea release pack` writes it";
  const manifest = manifestSchema.safeParse(signed.data.manifest);
  if (!manifest.success) return `the release's manifest is not valid: ${manifest.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`;
  const { version, expiresAt, devices } = manifest.data;
  // Every box would refuse it as `expired` (docs/updates.md): say so now, not 200 times.
  if (expiresAt !== undefined && Date.parse(expiresAt) <= nowMs) return `the release's manifest expired at ${expiresAt}`;
  const allowed = devices && new Set(devices);
  const skipped: SkippedBox[] = [];
  const boxes = rows.filter((row) => {
    if (row.summary?.version === version) skipped.push({ deviceId: row.deviceId, reason: `already runs ${version}` });
    // The box would refuse it (`not-for-this-box`), which is no news about the release.
    else if (allowed && !allowed.has(row.deviceId)) skipped.push({ deviceId: row.deviceId, reason: "not among the manifest's devices" });
    else return true;
    return false;
  });
  // Published exactly as packed: the signature covers the manifest's canonical JSON, not these bytes,
  // but the technician's file is what they checked.
  return { target: version, payload: text.trim(), boxes, skipped, from: (row) => row.summary?.version ?? null };
}

function configChange(change: Extract<RolloutSpec["change"], { kind: "config" }>, rows: BoxRow[]): Change {
  // A version at or below the applied one is ignored by the box, and so is one it undid or refused
  // last (docs/mqtt-api.md, config/desired): above every one of them, the same for every box.
  const highest = Math.max(0, ...rows.map((row) => Math.max(row.summary?.config.version ?? 0, row.summary?.config.refusedVersion ?? 0)));
  const target = highest + 1;
  const layer = "patch" in change ? { version: target, patch: change.patch } : { version: target, config: change.config };
  return { target, payload: JSON.stringify(layer), boxes: rows, skipped: [], from: (row) => row.summary?.config.version ?? null };
}

/** How many of `total` an amount is (a percentage rounded up, so 10 % of 5 is 1). */
export function amountOf(amount: Amount, total: number): number {
  return "count" in amount ? amount.count : Math.ceil((total * amount.percent) / 100);
}

/**
 * Each box's batch, by its place in site order: the canary spread evenly over that order (so it
 * spans districts rather than taking the first commune), then the rest in batches of `size`.
 */
export function batchesOf(total: number, canary: Amount, size: number): number[] {
  const canaryCount = Math.min(total, Math.max(1, amountOf(canary, total)));
  const batches = new Array<number>(total).fill(-1);
  for (let i = 0; i < canaryCount; i += 1) batches[Math.floor(((i + 0.5) * total) / canaryCount)] = 0;
  let placed = 0;
  for (let index = 0; index < total; index += 1) {
    if (batches[index] === 0) continue;
    batches[index] = 1 + Math.floor(placed / size);
    placed += 1;
  }
  return batches;
}

/** Whether `failures` among `attempted` boxes passes the threshold (more than it). */
export function passesThreshold(failures: number, attempted: number, threshold: Amount): boolean {
  return "count" in threshold ? failures > threshold.count : failures * 100 > threshold.percent * attempted;
}
