/**
 * The build step: the agent's TypeScript as JavaScript, for releases. Node strips each file's
 * types (`stripTypeScriptTypes`, the same stripping it does when it runs `.ts` in development),
 * and relative `.ts` import specifiers become `.js`. Types are replaced by blanks, so every line
 * and column stays where it was in the source: a stack trace from a box points into the source
 * without source maps. A box running the result never loads Node's type-stripping compiler
 * (docs/media.md, "At rest").
 */
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { stripTypeScriptTypes } from "node:module";
import path from "node:path";

/** The folders the agent's process loads code from (tools/, test/ and bench/ never ship). */
export const CODE_DIRS = ["lib", "drivers", "config", "agent"] as const;

/**
 * `from "../../agent/update/x.ts"`, `import "../../agent/update/x.ts"`, `import("../../agent/update/x.ts")` and `export … from "../../agent/y.ts"`: relative
 * specifiers only (a package's own `.ts` would not be ours to rename). `.ts` and `.js` have the
 * same length, so columns do not move.
 */
const RELATIVE_TS_SPECIFIER = /(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.{1,2}\/[^"'\n]*?)\.ts\2/g;

/** One module's source as the JavaScript a release carries. */
export function javaScriptOf(source: string): string {
  return stripTypeScriptTypes(source, { mode: "strip" }).replace(RELATIVE_TS_SPECIFIER, (_match, lead: string, quote: string, stem: string) => `${lead}${quote}${stem}.js${quote}`);
}

/** Builds `from`'s code folders into `out` (`.ts` → `.js`, other files copied); returns how many modules. */
export async function buildJavaScript(options: { from: string; out: string }): Promise<{ modules: number }> {
  let modules = 0;
  for (const dir of CODE_DIRS) {
    for (const entry of await readdir(path.join(options.from, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const source = path.join(entry.parentPath, entry.name);
      const target = path.join(options.out, path.relative(options.from, source));
      await mkdir(path.dirname(target), { recursive: true });
      if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
        await writeFile(target.replace(/\.ts$/, ".js"), javaScriptOf(await readFile(source, "utf8")));
        modules += 1;
      } else {
        await copyFile(source, target);
      }
    }
  }
  return { modules };
}
