/**
 * Whether a doctor is watching: what a restart (a config change, an update) must wait for.
 * The media service knows; the services that restart ask it, and are told when the last
 * viewer leaves instead of asking again and again.
 */
export interface Consultations {
  /** Viewer sessions connected now (one still connecting is no consultation yet). */
  live(): number;
  /** Calls `idle` once, the next time the last connected session ends; returns a cancel function. */
  onceIdle(idle: () => void): () => void;
}
