import { GraphQLError, parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import { buildSchema } from "../../src/graphql/schema.js";
import { INTROSPECTION_OFF, nameOurSetting, notFoundMessage } from "../../src/setting-hints.js";

describe("nameOurSetting", () => {
  it("tells a client refused introspection to set GRAPHQL_INTROSPECTION=true, keeping the code", () => {
    // Apollo's own rule, as Apollo Server runs it when introspection is off.
    const apollo = {
      message:
        "GraphQL introspection is not allowed by Apollo Server, but the query contained __schema or __type. To enable introspection, pass introspection: true to ApolloServer in production",
      locations: [{ line: 1, column: 3 }],
      extensions: { validationErrorCode: "INTROSPECTION_DISABLED", code: "GRAPHQL_VALIDATION_FAILED" },
    };
    expect(nameOurSetting(apollo)).toEqual({ ...apollo, message: INTROSPECTION_OFF });
    expect(INTROSPECTION_OFF).toContain("GRAPHQL_INTROSPECTION=true");
  });

  it.each([
    [
      "Syntax Error: Query depth limit of 10 exceeded, found 11.",
      "The operation's depth is 11, above the limit of 10 (GRAPHQL_MAX_DEPTH).",
    ],
    ["Syntax Error: Aliases limit of 15 exceeded, found 20.", "The operation has 20 aliases, above the limit of 15 (GRAPHQL_MAX_ALIASES)."],
    ["Directives limit of 50 exceeded, found 51.", "The operation has 51 directives, above the limit of 50 (GRAPHQL_MAX_DIRECTIVES)."],
    [
      "Syntax Error: Document contains more that 2000 tokens. Parsing aborted.",
      "The operation has more than 2000 tokens, above the limit (GRAPHQL_MAX_TOKENS).",
    ],
  ])("names the limit's setting: %s", (message, reworded) => {
    expect(nameOurSetting({ message, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })).toEqual({
      message: reworded,
      extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
    });
  });

  it("rewords graphql-js's token limit as the parser words it today", () => {
    let message = "";
    try {
      parse(`{ ${"a ".repeat(20)} }`, { maxTokens: 10 });
    } catch (error) {
      message = (error as GraphQLError).message;
    }
    expect(nameOurSetting({ message }).message).toBe("The operation has more than 10 tokens, above the limit (GRAPHQL_MAX_TOKENS).");
  });

  it("leaves every other error as it is", () => {
    const schema = buildSchema();
    const [unknownField] = validate(schema, parse("{ nope }"));
    const formatted = unknownField!.toJSON();
    expect(nameOurSetting(formatted)).toBe(formatted);
    const denied = { message: "Forbidden.", extensions: { code: "FORBIDDEN" } };
    expect(nameOurSetting(denied)).toBe(denied);
  });
});

describe("notFoundMessage", () => {
  it("names METRICS_PORT for /metrics on the API port in production", () => {
    expect(notFoundMessage("/metrics", { metricsElsewhere: true, devTokenAbsent: true })).toMatch(/METRICS_PORT/);
  });

  it("says /dev/token is a dev server's, and where tokens come from with a pool", () => {
    expect(notFoundMessage("/dev/token", { metricsElsewhere: false, devTokenAbsent: true })).toMatch(
      /dev server \(no COGNITO_USER_POOL_ID\).*Cognito/,
    );
  });

  it("points anything else at /graphql", () => {
    for (const path of ["/", "/graphq", "/metrics", "/dev/token"]) {
      expect(notFoundMessage(path, { metricsElsewhere: false, devTokenAbsent: false })).toBe("Not found. The API is at /graphql.");
    }
  });
});
