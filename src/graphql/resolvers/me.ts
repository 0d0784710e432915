import type { Resolvers } from "../../__generated__/resolvers.js";

export const meResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, context) => context.principal,
  },
  // The GraphQL enum values are upper case; the Principal keeps the claim's value.
  TokenUse: { ACCESS: "access", ID: "id" },
};
