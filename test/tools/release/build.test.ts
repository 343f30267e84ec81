/**
 * The build step's one transformation besides Node's own type stripping: relative `.ts` import
 * specifiers become `.js`, and nothing else moves (a box's stack traces point into the source).
 */
import { describe, expect, it } from "vitest";
import { javaScriptOf } from "../../../tools/release/build.ts";

describe("javaScriptOf", () => {
  it("rewrites every relative .ts specifier, static, dynamic and re-exported, and no other", () => {
    const source = [
      'import { a } from "../../agent/update/a.ts";',
      "import type { T } from '../../agent/types.ts';",
      'import {\n  b,\n  c,\n} from "../../drivers/b.ts";',
      'import "../../agent/update/sideEffect.ts";',
      'export { d } from "../../agent/update/d.ts";',
      'const lazy = () => import("../../agent/update/media/viewerSession.ts");',
      'import pino from "pino";',
      'const host = new URL("../../agent/update/host.ts", import.meta.url);',
      'const text = "from a string that mentions ./x.ts";',
      "export const n: number = 1;",
    ].join("\n");
    const built = javaScriptOf(source);
    expect(built).toContain('import { a } from "../../agent/update/a.js";');
    expect(built).toContain('} from "../../drivers/b.js";');
    expect(built).toContain('import "../../agent/update/sideEffect.js";');
    expect(built).toContain('export { d } from "../../agent/update/d.js";');
    expect(built).toContain('import("../../agent/update/media/viewerSession.js")');
    expect(built).toContain('import pino from "pino";');
    // Not an import: the code that builds this URL chooses .js or .ts itself (pipelineProcess.ts).
    expect(built).toContain('new URL("../../agent/update/host.ts", import.meta.url)');
    expect(built).toContain('"from a string that mentions ./x.ts"');
    expect(built).not.toContain("import type");
    expect(built).toContain(`export const n${" ".repeat(": number".length)} = 1;`); // the type blanked out, not removed
  });

  it("keeps every line and column where it was", () => {
    const source = 'import type { Logger } from "../../agent/update/log.ts";\nexport function f(log: Logger, n: number): string {\n  return `${n}`;\n}\n';
    const built = javaScriptOf(source);
    expect(built.split("\n").map((line) => line.length)).toEqual(source.split("\n").map((line) => line.length));
    expect(built.indexOf("return")).toBe(source.indexOf("return"));
  });
});
