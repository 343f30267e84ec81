/**
 * The fleet service's hands on the boxes: what it sends them and the retained answers it reads
 * back, over its own MQTT connection with its own certificate (docs/mqtt-api.md):
 * - a command (`cmd/{name}`) with the MQTT 5 response topic `reply/{requesterId}/…` of that box
 *   and a correlation id, its answer awaited with a deadline;
 * - the retained desired state technicians set (`config/desired`, `update/desired`);
 * - the box's retained reports (`config/reported`, `update/state`), read once or followed.
 *
 * Who may ask for what is decided before a call reaches this link (the roster, ../access.ts): the
 * link itself acts with the service's rights for whoever calls it.
 *
 * This file is the contract the box page (operator actions, config editor) and staged rollouts
 * (../rollout/) are written against, so it lives below both; ../mqttBoxLink.ts is the
 * implementation on a real broker.
 */
import type { CommandResponse, ConfigReported, UpdateStatePayload } from "../../../agent/core/api.ts";

/** A command as the fleet asks it of one box. */
export interface BoxCommand {
  deviceId: string;
  /** A command name of docs/mqtt-api.md (`peripherals.rescan`, `logs.tail`, …). */
  name: string;
  /** The parameters object; `{}` when omitted. */
  params?: Record<string, unknown>;
  /**
   * The request id (MQTT 5 correlation data). A retry of the same action must pass the same id:
   * the box then answers with its first answer instead of running it again. A fresh random id
   * when omitted.
   */
  requestId?: string;
  /** How long to wait for the answer (default 35 s: the box's own 30 s command timeout, and the trip). */
  timeoutMs?: number;
}

/**
 * The box's answer, or the link's own failure in the same shape, so a caller handles one thing:
 * `no-answer` (nothing within the deadline: offline, or the answer was lost), `link-down` (the
 * service is not connected to the broker), `link-busy` (too many commands awaiting answers).
 */
export type BoxAnswer = CommandResponse;

export type ReportKind = "config" | "update";

/** `update/state` as the fleet reads it: a newer agent's result code unknown here is kept as text, not dropped. */
export type UpdateReport = Omit<UpdateStatePayload, "result"> & { result: string | null };

/** A box's retained report as it arrived, checked for shape. */
export type BoxReport =
  | { kind: "config"; deviceId: string; payload: ConfigReported }
  | { kind: "update"; deviceId: string; payload: UpdateReport };

export interface BoxLink {
  /** Sends one command and resolves with its answer (never rejects: every failure is an answer). */
  command(request: BoxCommand): Promise<BoxAnswer>;
  /**
   * Publishes the retained desired state of one box (`config/desired` or `update/desired`),
   * QoS 1; resolves once the broker has it (PUBACK), rejects when it refused it or the link is down.
   */
  setDesired(deviceId: string, kind: ReportKind, payload: string): Promise<void>;
  /**
   * The retained desired state of one box as technicians last set it (`config/desired` or
   * `update/desired`, its payload as text), undefined when there is none: where the config editor
   * starts from.
   */
  desired(deviceId: string, kind: ReportKind): Promise<string | undefined>;
  /** The box's retained `config/reported` or `update/state`, undefined when it has none (or it is malformed). */
  reported(deviceId: string, kind: ReportKind): Promise<BoxReport | undefined>;
  /**
   * Every box's reports of `kind` as they arrive, the retained ones first: for a rollout that
   * waits on `committed` / `applied`. Resolves once the broker has the subscription, with the
   * function that ends it.
   */
  follow(kind: ReportKind, listener: (report: BoxReport) => void): Promise<() => Promise<void>>;
}
