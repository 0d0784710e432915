import { describe, expect, it } from "vitest";
import { KnownHeaders } from "../../../src/auth/precheck.js";

const headerOf = (kid: string) => ({ alg: "RS256" as const, kid });
const segmentOf = (kid: string) => Buffer.from(JSON.stringify(headerOf(kid))).toString("base64url");

describe("KnownHeaders", () => {
  it("answers a remembered header segment with its header, frozen, and nothing for any other string", () => {
    const known = new KnownHeaders();
    const segment = segmentOf("key-1");
    expect(known.get(segment)).toBeUndefined();
    known.remember(segment, headerOf("key-1"));
    expect(known.get(segment)).toEqual(headerOf("key-1"));
    expect(Object.isFrozen(known.get(segment))).toBe(true);
    expect(known.get(`${segment}=`)).toBeUndefined();
    expect(known.get(segmentOf("key-2"))).toBeUndefined();
  });

  it("keeps at most its size, forgetting the oldest first, and a segment once however often it is remembered", () => {
    const known = new KnownHeaders(2);
    known.remember(segmentOf("a"), headerOf("a"));
    known.remember(segmentOf("a"), headerOf("a"));
    known.remember(segmentOf("b"), headerOf("b"));
    expect(known.get(segmentOf("a"))?.kid).toBe("a");
    known.remember(segmentOf("c"), headerOf("c"));
    expect(known.get(segmentOf("a"))).toBeUndefined();
    expect(known.get(segmentOf("b"))?.kid).toBe("b");
    expect(known.get(segmentOf("c"))?.kid).toBe("c");
  });
});
