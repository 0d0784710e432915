import type { ColumnType, Generated, GeneratedAlways, Selectable } from "kysely";

/**
 * The database as Kysely sees it. Columns are snake_case in SQL and camelCase here (CamelCasePlugin), so a
 * row's properties carry the GraphQL field names (`owner:customerId` reads `customerId` from the row).
 */
export interface Database {
  products: ProductTable;
  customers: CustomerTable;
  orders: OrderTable;
  orderItems: OrderItemTable;
  revocations: RevocationTable;
  orderEvents: OrderEventTable;
}

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export interface ProductTable {
  id: string;
  sku: string;
  name: string;
  description: string | null;
  priceCents: number;
  costPriceCents: number;
  stock: number;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
}

export interface CustomerTable {
  /** The Cognito `sub` of the customer. */
  sub: string;
  username: string | null;
  email: string | null;
  createdAt: CreatedAt;
}

export type OrderStatus = "PENDING" | "PAID" | "SHIPPED" | "DELIVERED" | "CANCELLED";

export interface OrderTable {
  id: string;
  customerId: string;
  status: OrderStatus;
  totalCents: number;
  internalNote: string | null;
  idempotencyKey: string;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
}

export interface OrderItemTable {
  id: Generated<number>;
  orderId: string;
  productId: string;
  quantity: number;
  unitPriceCents: number;
}

/** A session revocation (src/data/revocations.ts): exactly one of `sessionId` and `revokedBefore` is set. */
export interface RevocationTable {
  id: Generated<string>;
  sub: string;
  /** One session: Cognito's `origin_jti`. */
  sessionId: string | null;
  /** Every session signed in (`auth_time`) before this moment. */
  revokedBefore: Date | null;
  /**
   * With `sessionId`: that session's sign-in (`auth_time`), so its tokens are matched under another `origin_jti` too
   * (refresh-token rotation); `null` for subject records and for session records made before it was kept.
   */
  sessionSignedInAt: Generated<Date | null>;
  /** When no token the record matches can be accepted any more; the record is deleted after it. */
  expiresAt: Date;
  /** The `sub` of who revoked (the subject itself, or support / admin). */
  revokedBy: string;
  /** Whether Cognito's AdminUserGlobalSignOut also ended the subject's refresh tokens. */
  cognitoSignedOut: boolean;
  createdAt: CreatedAt;
  /**
   * The sync cursor: assigned by the database on insert (and anew on update), committed in this order (the
   * table's write lock), indexed. An int8: a decimal string from `pg`, a number from PGlite; read it with Number().
   */
  seq: GeneratedAlways<string>;
}

/** One entry of the durable order event log (src/data/order-event-log.ts). */
export interface OrderEventTable {
  /** Assigned by the database, in commit order (see publishOrderEvent); bigint, read as a decimal string. */
  id: ColumnType<string, never, never>;
  orderId: string;
  customerId: string;
  kind: "PLACED" | "STATUS_CHANGED" | "CANCELLED";
  /** `clock_timestamp()` when the event was written, under the log's lock, just before the transaction commits. */
  occurredAt: ColumnType<Date, never, never>;
}

export type ProductRow = Selectable<ProductTable>;
export type CustomerRow = Selectable<CustomerTable>;
export type OrderRow = Selectable<OrderTable>;
export type OrderItemRow = Selectable<OrderItemTable>;
export type RevocationRow = Selectable<RevocationTable>;
