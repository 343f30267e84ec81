/**
 * `thea build [--out DIR]`: the agent as a release runs it, in a folder of this checkout (default
 * `build/`): the code built as JavaScript (tools/release/build.ts), `bin/` and `package.json`
 * copied, and links to this checkout's `node_modules`, runtime and viewer. `DIR/bin/thea run`
 * then runs the JavaScript entry with type stripping off, as a box does; `thea release pack`
 * builds the same JavaScript into its bundle by itself.
 */
import { existsSync } from "node:fs";
import { cp, rm, symlink } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { messageOf } from "../../agent/core/errors.ts";
import { buildJavaScript } from "./build.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export async function buildCommand(args: { out?: string | undefined }): Promise<number> {
  const out = path.resolve(args.out ?? path.join(PROJECT_ROOT, "build"));
  // The folder is emptied first: never the project or a folder holding it, never a folder that is
  // not an earlier build.
  const holdsProject = !path.relative(out, PROJECT_ROOT).startsWith("..");
  if (holdsProject || (existsSync(out) && !existsSync(path.join(out, "agent", "main.js")))) {
    process.stderr.write(`thea build: ${out} ${holdsProject ? "holds the project" : "is not an earlier build"}; give a new folder with --out\n`);
    return 2;
  }
  try {
    // Whole again each time: a module deleted from the sources must not linger in the build.
    await rm(out, { recursive: true, force: true });
    const { modules } = await buildJavaScript({ from: PROJECT_ROOT, out });
    await cp(path.join(PROJECT_ROOT, "bin"), path.join(out, "bin"), { recursive: true });
    await cp(path.join(PROJECT_ROOT, "package.json"), path.join(out, "package.json"));
    for (const shared of ["node_modules", ".runtime", "viewer"]) await symlink(path.join(PROJECT_ROOT, shared), path.join(out, shared));
    process.stdout.write(`${modules} modules built into ${out}; run ${path.join(out, "bin", "thea")} run …\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`thea build: ${messageOf(error)}\n`);
    return 1;
  }
}
