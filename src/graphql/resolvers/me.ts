import type { AppContext } from "../context.js";

export const meResolvers = {
  Query: {
    me: (_parent: unknown, _args: unknown, context: AppContext) => context.principal,
  },
  // The GraphQL enum values are upper case; the Principal keeps the claim's value.
  TokenUse: { ACCESS: "access", ID: "id" },
};
