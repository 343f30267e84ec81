/**
 * One scratch directory per test run: tests make their brokers', agents' and pty pairs' temporary
 * directories with os.tmpdir(), and not every test removes what it made (an agent killed with
 * -9 is the point of some). Pointing TMPDIR into one directory before the test processes start,
 * and removing it at the end, leaves nothing behind in /tmp however the tests ended.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export async function setup(): Promise<() => Promise<void>> {
  const root = await mkdtemp(path.join(tmpdir(), "thea-test-"));
  process.env.TMPDIR = root;
  return () => rm(root, { recursive: true, force: true });
}
