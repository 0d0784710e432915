import type { ApolloServerPlugin, GraphQLRequestListener } from "@apollo/server";
import { GraphQLError, GraphQLScalarType, visit, type DocumentNode } from "graphql";
import { INT32_MAX, INT32_MIN, isStorableText } from "../data/text.js";

/**
 * Refuses, before execution, any operation whose text input could not be stored as given: a string literal in
 * the document or a string anywhere in the variables that holds U+0000 or a lone surrogate (see
 * `isStorableText`). Without it such a value reaches PostgreSQL and comes back as an internal error. Answered
 * 400 with `BAD_USER_INPUT`; nothing runs. A document's verdict is kept as long as Apollo keeps the parsed
 * document, so a repeated query costs one map lookup.
 */
export function inputTextPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  const literalsOk = new WeakMap<DocumentNode, boolean>();
  const hooks: GraphQLRequestListener<TContext> = {
    async didResolveOperation({ document, request }) {
      let ok = literalsOk.get(document);
      if (ok === undefined) {
        ok = true;
        visit(document, {
          StringValue(node) {
            if (!isStorableText(node.value)) ok = false;
          },
        });
        literalsOk.set(document, ok);
      }
      if (!ok || !storable(request.variables)) {
        throw new GraphQLError("Text input must be well-formed Unicode without U+0000.", {
          extensions: { code: "BAD_USER_INPUT", http: { status: 400 } },
        });
      }
    },
  };
  return { requestDidStart: async () => hooks };
}

/**
 * Whether every string in `value` (object keys too) is storable text. Iterative, with an explicit stack: the
 * value is the client's (variables nested 20,000 deep are 40 KB of JSON), so no recursion over it.
 */
function storable(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === "string") {
      if (!isStorableText(next)) return false;
    } else if (Array.isArray(next)) {
      for (const item of next) pending.push(item);
    } else if (typeof next === "object" && next !== null) {
      for (const [key, item] of Object.entries(next)) {
        if (!isStorableText(key)) return false;
        pending.push(item);
      }
    }
  }
  return true;
}

/**
 * An integer scalar limited to 32 bits, like GraphQL's `Int` (spec §3.5.1) and PostgreSQL's `integer` columns:
 * graphql-scalars' `NonNegativeInt` and `PositiveInt` accept any safe integer, which the database then refuses
 * with an internal error. Values outside are a coercion error (400) naming the scalar, before execution.
 */
export function int32Scalar(scalar: GraphQLScalarType): GraphQLScalarType {
  const config = scalar.toConfig();
  const inRange = (value: unknown) => {
    if (typeof value === "number" && (value < INT32_MIN || value > INT32_MAX)) {
      throw new GraphQLError(`${scalar.name} cannot represent a value outside ${INT32_MIN} to ${INT32_MAX}: ${value}`);
    }
    return value;
  };
  return new GraphQLScalarType({
    ...config,
    parseValue: (value) => inRange(config.parseValue(value)),
    parseLiteral: (ast, variables) => inRange(config.parseLiteral(ast, variables)),
  });
}
