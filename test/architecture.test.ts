/**
 * The layers written down in .dependency-cruiser.cjs hold: no folder imports one above it, no
 * file-level cycle, no family reaches into another, shipped code never imports tests or benches.
 * Run as a developer would (`npx depcruise …`), so its message is the one they will see. And no
 * folder-level cycle anywhere, also inside a layer (tools/fleet and a folder of its own, say):
 * dependency-cruiser's rules see files, so the folders' graph is checked here from its output.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEPCRUISE = path.join(ROOT, "node_modules", ".bin", "depcruise");
const SHIPPED = ["lib", "drivers", "config", "agent", "tools"];

async function depcruise(outputType: string): Promise<{ code: number; stdout: string }> {
  return promisify(execFile)(DEPCRUISE, ["--config", ".dependency-cruiser.cjs", "--output-type", outputType, ...SHIPPED], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? "" }),
  );
}

interface Cruised {
  modules: Array<{ source: string; dependencies: Array<{ resolved: string }> }>;
}

/** Groups of folders that import each other in a circle (Tarjan's strongly connected components, size > 1). */
function folderCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (folder: string): void => {
    index.set(folder, index.size);
    low.set(folder, index.get(folder) ?? 0);
    stack.push(folder);
    onStack.add(folder);
    for (const next of edges.get(folder) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(folder, Math.min(low.get(folder) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(folder, Math.min(low.get(folder) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(folder) !== index.get(folder)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      component.push(member);
    } while (member !== folder);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const folder of edges.keys()) if (!index.has(folder)) visit(folder);
  return cycles;
}

describe("architecture", () => {
  it("imports run downwards only, with no cycle", async () => {
    const run = await depcruise("err");
    expect(run.stdout).toContain("no dependency violations found");
    expect(run.code).toBe(0);
  });

  it("has no folder-level cycle: no two folders import each other, directly or round a circle", async () => {
    const run = await depcruise("json");
    const cruised = JSON.parse(run.stdout) as Cruised;
    const inTree = (file: string) => SHIPPED.some((top) => file.startsWith(`${top}/`));
    const edges = new Map<string, Set<string>>();
    for (const module of cruised.modules) {
      if (!inTree(module.source)) continue;
      const from = path.posix.dirname(module.source);
      for (const { resolved } of module.dependencies) {
        const to = path.posix.dirname(resolved);
        if (!inTree(resolved) || to === from) continue;
        const targets = edges.get(from) ?? new Set<string>();
        targets.add(to);
        edges.set(from, targets);
      }
    }
    expect(edges.size).toBeGreaterThan(20); // the graph was read, not empty
    expect(folderCycles(edges)).toEqual([]);
  });

  it("finds a folder cycle when there is one (the check itself)", () => {
    const edges = new Map([
      ["tools/fleet", new Set(["tools/fleet/store", "lib"])],
      ["tools/fleet/store", new Set(["tools/fleet"])],
      ["lib", new Set<string>()],
    ]);
    expect(folderCycles(edges)).toEqual([["tools/fleet", "tools/fleet/store"]]);
  });
});
