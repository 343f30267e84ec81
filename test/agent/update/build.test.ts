/**
 * The build step's one transformation besides Node's own type stripping: relative `.ts` import
 * specifiers become `.js`, and nothing else moves (a box's stack traces point into the source).
 */
import { describe, expect, it } from "vitest";
import { javaScriptOf } from "../../../agent/update/build.ts";

describe("javaScriptOf", () => {
  it("rewrites every relative .ts specifier, static, dynamic and re-exported, and no other", () => {
    const source = [
      'import { a } from "./a.ts";',
      "import type { T } from '../types.ts';",
      'import {\n  b,\n  c,\n} from "../../drivers/b.ts";',
      'import "./sideEffect.ts";',
      'export { d } from "./d.ts";',
      'const lazy = () => import("./media/viewerSession.ts");',
      'import pino from "pino";',
      'const host = new URL("./host.ts", import.meta.url);',
      'const text = "from a string that mentions ./x.ts";',
      "export const n: number = 1;",
    ].join("\n");
    const built = javaScriptOf(source);
    expect(built).toContain('import { a } from "./a.js";');
    expect(built).toContain('} from "../../drivers/b.js";');
    expect(built).toContain('import "./sideEffect.js";');
    expect(built).toContain('export { d } from "./d.js";');
    expect(built).toContain('import("./media/viewerSession.js")');
    expect(built).toContain('import pino from "pino";');
    // Not an import: the code that builds this URL chooses .js or .ts itself (pipelineProcess.ts).
    expect(built).toContain('new URL("./host.ts", import.meta.url)');
    expect(built).toContain('"from a string that mentions ./x.ts"');
    expect(built).not.toContain("import type");
    expect(built).toContain(`export const n${" ".repeat(": number".length)} = 1;`); // the type blanked out, not removed
  });

  it("keeps every line and column where it was", () => {
    const source = 'import type { Logger } from "./log.ts";\nexport function f(log: Logger, n: number): string {\n  return `${n}`;\n}\n';
    const built = javaScriptOf(source);
    expect(built.split("\n").map((line) => line.length)).toEqual(source.split("\n").map((line) => line.length));
    expect(built.indexOf("return")).toBe(source.indexOf("return"));
  });
});
