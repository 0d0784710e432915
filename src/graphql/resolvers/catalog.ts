import type { Resolvers } from "../../__generated__/resolvers.js";
import { createProduct, listProducts, updateProduct } from "../../data/products.js";
import { toConnection } from "../connection.js";

export const catalogResolvers: Resolvers = {
  Query: {
    products: async (_parent, args, { db }) => toConnection(await listProducts(db, args)),
    product: (_parent, { id }, { loaders }) => loaders.productById.load(id),
  },
  Mutation: {
    createProduct: (_parent, { input }, { db }) => createProduct(db, input),
    updateProduct: (_parent, { id, input }, { db }) => updateProduct(db, id, input),
  },
};
