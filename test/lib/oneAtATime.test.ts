import { describe, expect, it } from "vitest";
import { OneAtATime } from "../../lib/oneAtATime.ts";

/** A piece of work that finishes when the test says so, and records when it started. */
function pending<T>(started: string[], name: string) {
  let settle: { resolve: (value: T) => void; reject: (error: Error) => void } | undefined;
  const work = () =>
    new Promise<T>((resolve, reject) => {
      started.push(name);
      settle = { resolve, reject };
    });
  return { work, resolve: (value: T) => settle?.resolve(value), reject: (error: Error) => settle?.reject(error) };
}

/** Lets every promise callback already queued run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("OneAtATime", () => {
  it("starts a piece of work only when the one before it has finished, in the order given", async () => {
    const started: string[] = [];
    const queue = new OneAtATime();
    const [a, b, c] = [pending<string>(started, "a"), pending<string>(started, "b"), pending<string>(started, "c")];
    const results = [queue.run(a.work), queue.run(b.work), queue.run(c.work)];
    await settled();
    expect(started).toEqual(["a"]);
    a.resolve("A");
    await settled();
    expect(started).toEqual(["a", "b"]);
    b.resolve("B");
    await settled();
    c.resolve("C");
    expect(await Promise.all(results)).toEqual(["A", "B", "C"]);
  });

  it("hands a failure to its own caller only, and goes on with the next piece", async () => {
    const started: string[] = [];
    const queue = new OneAtATime();
    const [a, b] = [pending<string>(started, "a"), pending<string>(started, "b")];
    const first = queue.run(a.work);
    const second = queue.run(b.work);
    await settled();
    a.reject(new Error("no answer"));
    await expect(first).rejects.toThrow("no answer");
    await settled();
    expect(started).toEqual(["a", "b"]);
    b.resolve("B");
    await expect(second).resolves.toBe("B");
  });

  it("goes on after work that throws before returning a promise", async () => {
    const queue = new OneAtATime();
    const broken = queue.run<string>(() => {
      throw new Error("bad command");
    });
    await expect(broken).rejects.toThrow("bad command");
    await expect(queue.run(async () => "next")).resolves.toBe("next");
  });
});
