import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";

describe("createLogger (production)", () => {
  const linesOf = (write: (logger: ReturnType<typeof createLogger>) => void) => {
    const lines: Record<string, any>[] = [];
    write(createLogger(true, "info", { write: (line: string) => void lines.push(JSON.parse(line)) }));
    return lines;
  };

  it("logs an error's summary (no stack) as given, keeping the error's class", () => {
    const [line] = linesOf((logger) => logger.warn({ err: { type: "TooManyRequestsException", message: "Rate exceeded" } }, "w"));
    expect(line!.err).toEqual({ type: "TooManyRequestsException", message: "Rate exceeded" });
  });

  it("serializes a real error with its class, message and stack", () => {
    class DatabaseError extends Error {}
    const [line] = linesOf((logger) => logger.error({ err: new DatabaseError("relation does not exist") }, "e"));
    expect(line!.err).toMatchObject({ type: "DatabaseError", message: "relation does not exist" });
    expect(line!.err.stack).toContain("\n");
  });
});
