/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}": typeof types.CancelOrderDocument,
    "mutation CreateProduct($input: CreateProductInput!) {\n  createProduct(input: $input) {\n    id\n    sku\n    name\n    priceCents\n    costPriceCents\n    stock\n    active\n  }\n}": typeof types.CreateProductDocument,
    "query Me {\n  me {\n    sub\n    kind\n    username\n    groups\n    scopes\n  }\n}": typeof types.MeDocument,
    "subscription MyOrderEvents($after: String) {\n  myOrderEvents(after: $after) {\n    cursor\n    kind\n    occurredAt\n    order {\n      id\n      status\n      totalCents\n    }\n  }\n}": typeof types.MyOrderEventsDocument,
    "query MyOrders($first: Int, $after: String) {\n  myOrders(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        status\n        totalCents\n        createdAt\n        items {\n          product {\n            id\n            name\n          }\n          quantity\n          unitPriceCents\n          lineTotalCents\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.MyOrdersDocument,
    "subscription OrderEvents($after: String) {\n  orderEvents(after: $after) {\n    cursor\n    kind\n    order {\n      id\n      status\n    }\n  }\n}": typeof types.OrderEventsDocument,
    "query Order($id: ID!) {\n  order(id: $id) {\n    id\n    customerId\n    customerEmail\n    status\n    totalCents\n  }\n}": typeof types.OrderDocument,
    "query Orders($first: Int, $after: String, $status: OrderStatus) {\n  orders(first: $first, after: $after, status: $status) {\n    edges {\n      node {\n        id\n        customerId\n        status\n        totalCents\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.OrdersDocument,
    "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    id\n    customerId\n    status\n    totalCents\n    items {\n      product {\n        id\n      }\n      quantity\n    }\n  }\n}": typeof types.PlaceOrderDocument,
    "query Products($first: Int, $after: String) {\n  products(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        sku\n        name\n        priceCents\n        stock\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.ProductsDocument,
    "mutation UpdateOrderStatus($id: ID!, $status: OrderStatus!, $internalNote: String) {\n  updateOrderStatus(id: $id, status: $status, internalNote: $internalNote) {\n    id\n    status\n    internalNote\n  }\n}": typeof types.UpdateOrderStatusDocument,
};
const documents: Documents = {
    "mutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}": types.CancelOrderDocument,
    "mutation CreateProduct($input: CreateProductInput!) {\n  createProduct(input: $input) {\n    id\n    sku\n    name\n    priceCents\n    costPriceCents\n    stock\n    active\n  }\n}": types.CreateProductDocument,
    "query Me {\n  me {\n    sub\n    kind\n    username\n    groups\n    scopes\n  }\n}": types.MeDocument,
    "subscription MyOrderEvents($after: String) {\n  myOrderEvents(after: $after) {\n    cursor\n    kind\n    occurredAt\n    order {\n      id\n      status\n      totalCents\n    }\n  }\n}": types.MyOrderEventsDocument,
    "query MyOrders($first: Int, $after: String) {\n  myOrders(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        status\n        totalCents\n        createdAt\n        items {\n          product {\n            id\n            name\n          }\n          quantity\n          unitPriceCents\n          lineTotalCents\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.MyOrdersDocument,
    "subscription OrderEvents($after: String) {\n  orderEvents(after: $after) {\n    cursor\n    kind\n    order {\n      id\n      status\n    }\n  }\n}": types.OrderEventsDocument,
    "query Order($id: ID!) {\n  order(id: $id) {\n    id\n    customerId\n    customerEmail\n    status\n    totalCents\n  }\n}": types.OrderDocument,
    "query Orders($first: Int, $after: String, $status: OrderStatus) {\n  orders(first: $first, after: $after, status: $status) {\n    edges {\n      node {\n        id\n        customerId\n        status\n        totalCents\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.OrdersDocument,
    "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    id\n    customerId\n    status\n    totalCents\n    items {\n      product {\n        id\n      }\n      quantity\n    }\n  }\n}": types.PlaceOrderDocument,
    "query Products($first: Int, $after: String) {\n  products(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        sku\n        name\n        priceCents\n        stock\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.ProductsDocument,
    "mutation UpdateOrderStatus($id: ID!, $status: OrderStatus!, $internalNote: String) {\n  updateOrderStatus(id: $id, status: $status, internalNote: $internalNote) {\n    id\n    status\n    internalNote\n  }\n}": types.UpdateOrderStatusDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}"): (typeof documents)["mutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateProduct($input: CreateProductInput!) {\n  createProduct(input: $input) {\n    id\n    sku\n    name\n    priceCents\n    costPriceCents\n    stock\n    active\n  }\n}"): (typeof documents)["mutation CreateProduct($input: CreateProductInput!) {\n  createProduct(input: $input) {\n    id\n    sku\n    name\n    priceCents\n    costPriceCents\n    stock\n    active\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Me {\n  me {\n    sub\n    kind\n    username\n    groups\n    scopes\n  }\n}"): (typeof documents)["query Me {\n  me {\n    sub\n    kind\n    username\n    groups\n    scopes\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription MyOrderEvents($after: String) {\n  myOrderEvents(after: $after) {\n    cursor\n    kind\n    occurredAt\n    order {\n      id\n      status\n      totalCents\n    }\n  }\n}"): (typeof documents)["subscription MyOrderEvents($after: String) {\n  myOrderEvents(after: $after) {\n    cursor\n    kind\n    occurredAt\n    order {\n      id\n      status\n      totalCents\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query MyOrders($first: Int, $after: String) {\n  myOrders(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        status\n        totalCents\n        createdAt\n        items {\n          product {\n            id\n            name\n          }\n          quantity\n          unitPriceCents\n          lineTotalCents\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query MyOrders($first: Int, $after: String) {\n  myOrders(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        status\n        totalCents\n        createdAt\n        items {\n          product {\n            id\n            name\n          }\n          quantity\n          unitPriceCents\n          lineTotalCents\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription OrderEvents($after: String) {\n  orderEvents(after: $after) {\n    cursor\n    kind\n    order {\n      id\n      status\n    }\n  }\n}"): (typeof documents)["subscription OrderEvents($after: String) {\n  orderEvents(after: $after) {\n    cursor\n    kind\n    order {\n      id\n      status\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Order($id: ID!) {\n  order(id: $id) {\n    id\n    customerId\n    customerEmail\n    status\n    totalCents\n  }\n}"): (typeof documents)["query Order($id: ID!) {\n  order(id: $id) {\n    id\n    customerId\n    customerEmail\n    status\n    totalCents\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Orders($first: Int, $after: String, $status: OrderStatus) {\n  orders(first: $first, after: $after, status: $status) {\n    edges {\n      node {\n        id\n        customerId\n        status\n        totalCents\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query Orders($first: Int, $after: String, $status: OrderStatus) {\n  orders(first: $first, after: $after, status: $status) {\n    edges {\n      node {\n        id\n        customerId\n        status\n        totalCents\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    id\n    customerId\n    status\n    totalCents\n    items {\n      product {\n        id\n      }\n      quantity\n    }\n  }\n}"): (typeof documents)["mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    id\n    customerId\n    status\n    totalCents\n    items {\n      product {\n        id\n      }\n      quantity\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Products($first: Int, $after: String) {\n  products(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        sku\n        name\n        priceCents\n        stock\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query Products($first: Int, $after: String) {\n  products(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        sku\n        name\n        priceCents\n        stock\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateOrderStatus($id: ID!, $status: OrderStatus!, $internalNote: String) {\n  updateOrderStatus(id: $id, status: $status, internalNote: $internalNote) {\n    id\n    status\n    internalNote\n  }\n}"): (typeof documents)["mutation UpdateOrderStatus($id: ID!, $status: OrderStatus!, $internalNote: String) {\n  updateOrderStatus(id: $id, status: $status, internalNote: $internalNote) {\n    id\n    status\n    internalNote\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;