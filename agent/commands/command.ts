/**
 * A command is data: its name, what its parameters look like (a zod schema, which validates
 * and documents them), and what it does. `defineCommand` erases the parameter type so commands
 * of every shape sit in one registry, and checks parameters before `run` ever sees them.
 */
import type { z } from "zod";
import { formatIssues } from "../config/load.ts";
import { TheaError } from "../core/errors.ts";

export interface CommandSpec<Schema extends z.ZodType> {
  name: string;
  description: string;
  params: Schema;
  /**
   * Running it twice does harm (a restart, a reboot, a cuff inflating, a config change): its
   * answer is kept for a retry until its time to live, never evicted by other requests
   * (responseCache.ts). Leave out for commands that only read or are safe to repeat.
   */
  sideEffects?: boolean;
  /**
   * The result a retry is given when the agent stopped while this ran, before its answer was
   * recorded (answerRecord.ts) — `agent.restart` is stopped by the very restart it asked for.
   * Without it such a retry is answered `repeated-request`.
   */
  resultIfInterrupted?: unknown;
  run(params: z.output<Schema>): Promise<unknown> | unknown;
}

export interface Command {
  readonly name: string;
  readonly description: string;
  readonly sideEffects: boolean;
  readonly resultIfInterrupted?: unknown;
  /** Throws invalid-params unless `params` have the command's shape (the router checks before recording). */
  check(params: unknown): void;
  /** Validates `params` (throwing invalid-params) and runs the command. */
  handle(params: unknown): Promise<unknown>;
}

export function defineCommand<Schema extends z.ZodType>(spec: CommandSpec<Schema>): Command {
  const parse = (params: unknown): z.output<Schema> => {
    const parsed = spec.params.safeParse(params);
    if (!parsed.success) throw new TheaError("invalid-params", formatIssues(parsed.error.issues, new Map()).join("; "));
    return parsed.data;
  };
  return {
    name: spec.name,
    description: spec.description,
    sideEffects: spec.sideEffects ?? false,
    ...(spec.resultIfInterrupted !== undefined && { resultIfInterrupted: spec.resultIfInterrupted }),
    check(params) {
      parse(params);
    },
    async handle(params) {
      return spec.run(parse(params));
    },
  };
}
