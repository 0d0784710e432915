import { makeExecutableSchema } from "@graphql-tools/schema";
import type { GraphQLSchema } from "graphql";
import { DateTimeResolver, EmailAddressResolver, NonNegativeIntResolver, PositiveIntResolver } from "graphql-scalars";
import { applyAuthDirectives } from "../src/auth/index.js";
import type { Db } from "../src/data/database.js";
import { placeOrder } from "../src/data/orders.js";
import { createProduct } from "../src/data/products.js";
import { seedDevData } from "../src/dev/seed.js";
import { loadTypeDefs } from "../src/graphql/schema.js";
import { catalogResolvers } from "../src/graphql/resolvers/catalog.js";
import { meResolvers } from "../src/graphql/resolvers/me.js";
import { orderResolvers } from "../src/graphql/resolvers/orders.js";

/** What the benchmark shares between its server variants: pool, client, users, schema and data. */
export const BENCH_POOL_ID = "us-east-1_BenchPool";
export const BENCH_CLIENT_ID = "benchclient";
export const BENCH_ITEMS = 1000;
export const ORDERS_IN_DB = 60;

export const USERS = {
  admin: { sub: "bench-admin", username: "admin", groups: ["admin", "support"] },
  customer: { sub: "bench-customer", username: "customer", groups: [] as string[] },
};

/** A 1,000-item list whose `secret` field is under a rule only admins pass. */
const BENCH_SDL = /* GraphQL */ `
  type BenchItem @public {
    id: ID!
    name: String!
    secret: String @auth(requires: ["group:admin"])
  }
  type Query {
    benchItems: [BenchItem!]! @public
  }
`;

const ITEMS = Array.from({ length: BENCH_ITEMS }, (_, i) => ({ id: `item-${i}`, name: `Item ${i}`, secret: `secret ${i}` }));

/** The product schema plus the bench list; `withAuth: false` is the baseline without any rule. */
export function benchSchema(withAuth: boolean): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: [...loadTypeDefs(), BENCH_SDL],
    resolvers: [
      {
        DateTime: DateTimeResolver,
        EmailAddress: EmailAddressResolver,
        NonNegativeInt: NonNegativeIntResolver,
        PositiveInt: PositiveIntResolver,
      },
      meResolvers,
      catalogResolvers,
      orderResolvers,
      { Query: { benchItems: () => ITEMS } },
    ],
  });
  return withAuth ? applyAuthDirectives(schema) : schema;
}

export const BENCH_PRODUCT_SKU = "BENCH-1";

/** The dev seed, a product that never runs out, and enough orders for a full page with items and products. */
export async function seedBenchData(db: Db): Promise<void> {
  await seedDevData(db);
  const product = await createProduct(db, {
    sku: BENCH_PRODUCT_SKU,
    name: "Bench widget",
    priceCents: 100,
    costPriceCents: 50,
    stock: 1_000_000_000,
  });
  await db.updateTable("products").set({ stock: 1_000_000 }).where("id", "in", ["prd-cable", "prd-keyboard"]).execute();
  for (let i = 0; i < ORDERS_IN_DB; i++) {
    await placeOrder(
      db,
      { sub: USERS.customer.sub, username: USERS.customer.username, email: null },
      [
        { productId: product.id, quantity: 1 + (i % 3) },
        { productId: "prd-cable", quantity: 1 },
        { productId: "prd-keyboard", quantity: 1 },
      ],
      `bench-seed-${i}`,
    );
  }
}
