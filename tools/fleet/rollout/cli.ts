/**
 * `thea fleet rollout …`: staged rollouts from a terminal or a script, through the fleet service's
 * API (api.ts): over HTTPS with the person's own client certificate, or plain HTTP on loopback.
 * `create` and `watch` print a line each time the rollout moves and exit with how it ended, so a
 * script can tell a completed rollout from a halted one.
 */
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { messageOf } from "../../../lib/messageOf.ts";
import type { RolloutReport, RolloutStatus } from "./model.ts";

export const ROLLOUT_USAGE =
  "usage: thea fleet rollout dry-run|create CHANGE SELECTION [--canary N|N%] [--batch N] [--threshold N|N%] [--deadline 30m]\n" +
  "       thea fleet rollout list | show ID | watch ID | pause ID | resume ID | abort ID\n" +
  "         CHANGE: --release FILE.manifest.json | --patch FILE.json | --config FILE.json\n" +
  "         SELECTION: [--province P] [--district D] [--commune C] [--version V] [--device ID[,ID…]]...\n" +
  "         the service: [--api URL] (default http://127.0.0.1:8090) [--cert FILE --key FILE --ca FILE] (your certificate from thea-pki)\n" +
  "         exit: 0 completed, 3 halted, 4 aborted, 1 the service refused or failed, 2 usage\n";

export const EXIT = { completed: 0, failed: 1, usage: 2, halted: 3, aborted: 4 } as const;

export interface RolloutCliArgs {
  api?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  ca?: string | undefined;
  release?: string | undefined;
  patch?: string | undefined;
  config?: string | undefined;
  province?: string | undefined;
  district?: string | undefined;
  commune?: string | undefined;
  version?: string | undefined;
  device?: string[] | undefined;
  canary?: string | undefined;
  batch?: string | undefined;
  threshold?: string | undefined;
  deadline?: string | undefined;
}

export interface RolloutCliContext {
  out?: (line: string) => void;
  /** How often a followed rollout is asked again (default 1 s). */
  pollMs?: number;
}

interface Client {
  call(method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

export async function rolloutCommand(rest: readonly string[], args: RolloutCliArgs, context: RolloutCliContext = {}): Promise<number> {
  const out = context.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const [action, id, ...extra] = rest;
  const usage = (problem: string) => {
    process.stderr.write(`thea fleet rollout: ${problem}\n${ROLLOUT_USAGE}`);
    return EXIT.usage;
  };
  try {
    const client = await clientOf(args);
    const pollMs = context.pollMs ?? 1000;
    if (action === "dry-run" || action === "create") {
      if (id !== undefined) return usage(`"${id}" is not an option`);
      const body = await requestBody(args, action === "dry-run");
      return typeof body === "string" ? usage(body) : send(client, body, out, pollMs);
    }
    if (action === "list" && id === undefined) return list(client, out);
    if (id === undefined || extra.length > 0) return usage(action === undefined ? "which command?" : `"${rest.join(" ")}" is not a rollout command`);
    if (action === "show" || action === "watch") {
      const answer = await client.call("GET", `/api/rollouts/${encodeURIComponent(id)}`);
      if (answer.status !== 200) return refused(answer);
      const report = answer.body as RolloutReport;
      if (action === "watch") return follow(client, id, out, pollMs);
      printReport(out, report);
      return exitOf(report.rollout.status);
    }
    if (action === "pause" || action === "resume" || action === "abort") {
      const answer = await client.call("POST", `/api/rollouts/${encodeURIComponent(id)}/${action}`, {});
      if (answer.status !== 200) return refused(answer);
      const rollout = answer.body as RolloutReport["rollout"];
      out(`rollout ${rollout.id}: ${rollout.status} (${rollout.statusReason ?? ""})`);
      return EXIT.completed;
    }
    return usage(`"${action ?? ""}" is not a rollout command`);
  } catch (error) {
    process.stderr.write(`thea fleet rollout: ${messageOf(error)}\n`);
    return EXIT.failed;
  }
}

/** A dry run printed, or a rollout created and followed to its end. */
async function send(client: Client, body: Record<string, unknown>, out: (line: string) => void, pollMs: number): Promise<number> {
  const answer = await client.call("POST", "/api/rollouts", body);
  if (answer.status !== 200 && answer.status !== 201) return refused(answer);
  if (body.dryRun === true) {
    printPlan(out, answer.body as { plan: PlanShape });
    return EXIT.completed;
  }
  const { rollout, totals } = answer.body as RolloutReport;
  out(`rollout ${rollout.id}: ${rollout.kind === "update" ? "release" : "config version"} ${rollout.target} to ${totals.boxes} boxes, the canary then ${rollout.batches - 1} batches`);
  return follow(client, rollout.id, out, pollMs);
}

async function list(client: Client, out: (line: string) => void): Promise<number> {
  const answer = await client.call("GET", "/api/rollouts");
  if (answer.status !== 200) return refused(answer);
  for (const rollout of (answer.body as { rollouts: Array<RolloutReport["rollout"] & { totals: RolloutReport["totals"] }> }).rollouts) {
    out(`${rollout.id}  ${rollout.status.padEnd(9)} ${rollout.kind} ${rollout.target}  ${progressOf(rollout.totals)}  by ${rollout.createdBy ?? "-"} at ${rollout.createdAt}`);
  }
  return EXIT.completed;
}

function refused(answer: { status: number; body: unknown }): number {
  const error = typeof answer.body === "object" && answer.body !== null && "error" in answer.body ? String(answer.body.error) : JSON.stringify(answer.body);
  process.stderr.write(`thea fleet rollout: the service answered ${answer.status}: ${error}\n`);
  return EXIT.failed;
}

/** Asks for the rollout until it ends, printing a line whenever its totals or status change. */
async function follow(client: Client, id: string, out: (line: string) => void, pollMs: number): Promise<number> {
  let last = "";
  for (;;) {
    const answer = await client.call("GET", `/api/rollouts/${encodeURIComponent(id)}`);
    if (answer.status !== 200) return refused(answer);
    const report = answer.body as RolloutReport;
    const { status } = report.rollout;
    const { currentBatch, batches } = report.rollout;
    const step = currentBatch <= 0 ? "the canary" : `batch ${currentBatch} of ${batches - 1} after the canary`;
    const line = `${status}: ${step}, ${progressOf(report.totals)}`;
    if (line !== last) out(`${new Date().toISOString().slice(11, 19)} ${line}`);
    last = line;
    const ended = status === "completed" || status === "halted" || status === "aborted";
    if (ended && report.totals.inFlight === 0) {
      if (report.rollout.statusReason) out(`${status}: ${report.rollout.statusReason}`);
      for (const box of report.boxes.filter((candidate) => candidate.state === "failed" || candidate.state === "timed-out" || candidate.state === "offline")) {
        out(`  ${box.deviceId}: ${box.state} ${box.result ?? ""} ${box.reason ?? ""}`.trimEnd());
      }
      return exitOf(status);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function exitOf(status: RolloutStatus): number {
  return status === "halted" ? EXIT.halted : status === "aborted" ? EXIT.aborted : EXIT.completed;
}

function progressOf(totals: RolloutReport["totals"]): string {
  return `${totals.succeeded} done, ${totals.failed + totals.timedOut} failed, ${totals.offline} offline, ${totals.inFlight} under way, ${totals.pending} not sent (of ${totals.boxes}; ${totals.skipped} skipped)`;
}

interface PlanShape {
  kind: string;
  target: string | number;
  batches: number;
  boxes: Array<{ deviceId: string; batch: number; from: string | number | null }>;
  skipped: Array<{ deviceId: string; reason: string }>;
}

function printPlan(out: (line: string) => void, { plan }: { plan: PlanShape }): void {
  out(`dry run: ${plan.kind === "update" ? "release" : "config version"} ${plan.target} to ${plan.boxes.length} boxes, the canary then ${Math.max(0, plan.batches - 1)} batches; nothing was sent`);
  for (let batch = 0; batch < plan.batches; batch += 1) {
    const boxes = plan.boxes.filter((box) => box.batch === batch);
    out(`  ${batch === 0 ? "canary" : `batch ${batch}`}: ${boxes.map((box) => `${box.deviceId} (${box.from ?? "?"})`).join(", ")}`);
  }
  for (const box of plan.skipped) out(`  skipped ${box.deviceId}: ${box.reason}`);
}

function printReport(out: (line: string) => void, report: RolloutReport): void {
  const { rollout } = report;
  out(`rollout ${rollout.id}: ${rollout.status}${rollout.statusReason ? ` (${rollout.statusReason})` : ""}, ${rollout.kind === "update" ? "release" : "config version"} ${rollout.target}, by ${rollout.createdBy ?? "-"} at ${rollout.createdAt}`);
  out(`  ${progressOf(report.totals)}`);
  for (const box of report.boxes) out(`  batch ${box.batch} ${box.deviceId}: ${box.state}${box.result ? ` ${box.result}` : ""}${box.reason ? `: ${box.reason}` : ""}`);
}

/** The POST body from the options, or what is wrong with them. */
async function requestBody(args: RolloutCliArgs, dryRun: boolean): Promise<Record<string, unknown> | string> {
  const changes = [args.release, args.patch, args.config].filter((file) => file !== undefined);
  if (changes.length !== 1) return "give one change: --release FILE, --patch FILE or --config FILE";
  const change: Record<string, unknown> = {};
  if (args.release !== undefined) change.release = await readFile(args.release, "utf8");
  for (const key of ["patch", "config"] as const) {
    const file = args[key];
    if (file === undefined) continue;
    try {
      change[key] = JSON.parse(await readFile(file, "utf8")) as unknown;
    } catch (error) {
      return `--${key} ${file}: ${messageOf(error)}`;
    }
  }
  const deviceIds = (args.device ?? []).flatMap((list) => list.split(",")).filter((deviceId) => deviceId !== "");
  const selection = {
    ...(args.province !== undefined && { province: args.province }),
    ...(args.district !== undefined && { district: args.district }),
    ...(args.commune !== undefined && { commune: args.commune }),
    ...(args.version !== undefined && { version: args.version }),
    ...(deviceIds.length > 0 && { deviceIds }),
  };
  if (Object.keys(selection).length === 0) return "say which boxes: --province, --district, --commune, --version or --device";
  const deadline = args.deadline === undefined ? undefined : secondsOf(args.deadline);
  if (deadline === null) return "--deadline must be a duration such as 600s, 30m or 2h";
  const batch = args.batch === undefined ? undefined : Number(args.batch);
  if (batch !== undefined && !Number.isInteger(batch)) return "--batch must be a whole number of boxes";
  return {
    selection,
    ...change,
    ...(args.canary !== undefined && { canary: amountOf(args.canary) }),
    ...(batch !== undefined && { batchSize: batch }),
    ...(args.threshold !== undefined && { failureThreshold: amountOf(args.threshold) }),
    ...(deadline !== undefined && { boxDeadlineSec: deadline }),
    dryRun,
  };
}

/** "5" is a count, "10%" a percentage (the API checks both). */
function amountOf(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

function secondsOf(text: string): number | null {
  const match = /^(\d+)([smh]?)$/.exec(text);
  if (!match) return null;
  return Number(match[1]) * ({ "": 1, s: 1, m: 60, h: 3600 }[match[2] ?? ""] ?? 1);
}

async function clientOf(args: RolloutCliArgs): Promise<Client> {
  const base = new URL(args.api ?? "http://127.0.0.1:8090/");
  const https = base.protocol === "https:";
  if (!https && base.protocol !== "http:") throw new Error("--api must be an http:// or https:// address");
  if ((args.cert === undefined) !== (args.key === undefined)) throw new Error("--cert and --key go together (your certificate and its key)");
  const tls = https
    ? {
        ...(args.cert !== undefined && { cert: await readFile(args.cert) }),
        ...(args.key !== undefined && { key: await readFile(args.key) }),
        ...(args.ca !== undefined && { ca: await readFile(args.ca) }),
      }
    : {};
  return {
    call: (method, path, body) =>
      new Promise((resolve, reject) => {
        const text = body === undefined ? undefined : JSON.stringify(body);
        const headers = { accept: "application/json", ...(text !== undefined && { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) }) };
        const request = (https ? httpsRequest : httpRequest)(new URL(path, base), { method, headers, timeout: 30_000, ...tls }, (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            const raw = Buffer.concat(chunks).toString("utf8");
            try {
              resolve({ status: response.statusCode ?? 0, body: JSON.parse(raw) as unknown });
            } catch {
              resolve({ status: response.statusCode ?? 0, body: { error: raw.slice(0, 200) } });
            }
          });
          response.on("error", reject);
        });
        request.on("timeout", () => request.destroy(new Error(`no answer from ${base.origin} within 30 s`)));
        request.on("error", reject);
        request.end(text);
      }),
  };
}
