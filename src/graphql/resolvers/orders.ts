import { GraphQLError, type GraphQLResolveInfo } from "graphql";
import type { Resolvers } from "../../__generated__/resolvers.js";
import type { RequestAuth } from "../../auth/index.js";
import { changeStatus, listOrders, noSuchOrder, placeOrder } from "../../data/orders.js";
import { InvalidInputError } from "../../data/errors.js";
import type { OrderEventMessage } from "../../data/order-events.js";
import type { OrderRow } from "../../data/tables.js";
import { toConnection } from "../connection.js";
import { encodeEventCursor, openOrderEventStream } from "../order-event-stream.js";
import type { AppContext } from "../context.js";
import type { OrderEventFeed } from "../order-events.js";
import type { RemoteSteps } from "../remote-calls.js";

/**
 * placeOrder's remote work, run before the operation's transaction opens: the caller's verified email (Cognito's
 * `GetUser`, bounded by COGNITO_TIMEOUT_MS and its circuit breaker). The resolver then reads the remembered answer.
 */
export const orderRemoteSteps: RemoteSteps<AppContext> = {
  placeOrder: (_args, context) => context.callerEmail(),
};

export const orderResolvers: Resolvers = {
  Query: {
    // Filtered by the caller's sub in SQL: other customers' rows are never read.
    myOrders: async (_parent, args, { db, principal }) => toConnection(await listOrders(db, { ...args, customerId: principal!.sub })),
    // An order the caller may not see is answered exactly as an id that matches nothing: null, no error.
    order: async (_parent, { id }, { db, auth }, info) => {
      const row = await db.selectFrom("orders").selectAll().where("id", "=", id).executeTakeFirst();
      if (!row) return null;
      if (auth.mayReturn(info, row)) return row;
      auth.conceal(info);
      return null;
    },
    orders: async (_parent, args, { db }) => toConnection(await listOrders(db, args)),
  },
  Mutation: {
    placeOrder: async (_parent, { input }, { db, principal, auth, callerEmail }) => {
      // Orders are placed by people; a machine client has no customer to stand for.
      if (principal!.kind !== "USER") auth.refuseOperation("Mutation.placeOrder", ["a person's token (not a machine client)"]);
      // Verified only; a failed, timed-out or short-circuited lookup gives null, which keeps the email recorded
      // before (if any): the order is placed either way. Fetched before the transaction opened (orderRemoteSteps).
      const email = await callerEmail();
      return placeOrder(db, { sub: principal!.sub, username: principal!.username, email }, input.items, input.idempotencyKey);
    },
    cancelOrder: (_parent, { id }, { db, principal, auth }, info) =>
      changeStatus(db, id, "CANCELLED", {
        // Inside the transaction, on the locked row, before any write.
        authorize: (order) => {
          concealUnlessVisible(auth, info, order);
          if (principal!.groups.includes("support")) return;
          // Seen (staff, admin, machines) but not theirs to cancel: no secret is kept from them.
          if (order.customerId !== principal!.sub) auth.refuseOperation("Mutation.cancelOrder", ["owner:customerId|group:support"]);
          if (order.status !== "PENDING") throw new InvalidInputError("A customer can cancel an order only while it is PENDING", "id");
        },
      }),
    updateOrderStatus: (_parent, { id, status, internalNote }, { db, auth }, info) =>
      changeStatus(db, id, status, { internalNote, authorize: (order) => concealUnlessVisible(auth, info, order) }),
  },
  // `subscribe` opens the stream of event messages (ids only; with `after`, the log's events first); each event is
  // then executed for the subscriber with a context of its own (see ws.ts) whose loaders every subscriber of the
  // same event shares, `resolve` handing the message to OrderEvent, whose `order` reads once per replica.
  Subscription: {
    orderEvents: {
      subscribe: (_parent, { after }, { orderEvents }) => streamOf(orderEvents, after),
      resolve: (event: OrderEventMessage) => event,
    },
    myOrderEvents: {
      // Other customers' events are skipped before anything is read (live and in the log); Order's own rule applies to what is.
      subscribe: (_parent, { after }, { orderEvents, principal }) => streamOf(orderEvents, after, principal!.sub),
      resolve: (event: OrderEventMessage) => event,
    },
  },
  OrderEvent: {
    cursor: (event) => encodeEventCursor(event.seq),
    // Read after the change committed, through the event's shared loaders: the order as it is now.
    order: async (event, _args, { loaders }) => {
      const order = await loaders.orderById.load(event.orderId);
      // Orders are never deleted; a missing one is a broken database or a forged notification.
      if (!order) throw new GraphQLError("Order event refers to a missing order");
      return order;
    },
  },
  Order: {
    items: (order, _args, { loaders }) => loaders.itemsByOrderId.load(order.id),
    customerEmail: async (order, _args, { loaders }) => (await loaders.customerBySub.load(order.customerId))?.email ?? null,
  },
  OrderItem: {
    product: async (item, _args, { loaders }) => {
      const product = await loaders.productById.load(item.productId);
      // A foreign key guarantees the product; its absence is a broken database, not bad input.
      if (!product) throw new GraphQLError("Order item refers to a missing product");
      return product;
    },
    lineTotalCents: (item) => item.unitPriceCents * item.quantity,
  },
};

/** The feed of the WebSocket transport; an HTTP or Lambda context has none (subscriptions are refused there first). */
function feedOf(feed: OrderEventFeed | undefined): OrderEventFeed {
  if (!feed) throw new GraphQLError("Subscriptions are served over WebSocket only");
  return feed;
}

/** A subscription's events, resumed after `after` when given (see openOrderEventStream). */
async function streamOf(feed: OrderEventFeed | undefined, after: string | null | undefined, customerId?: string) {
  const live = feedOf(feed);
  if (!live.log) {
    if (after != null) throw new GraphQLError("Resuming with after needs the event log, which this server was built without");
    return live.subscribe(customerId === undefined ? undefined : (event) => event.customerId === customerId);
  }
  return openOrderEventStream({ feed: live, db: live.log.db, after, customerId, retentionSeconds: live.log.retentionSeconds });
}

/**
 * A mutation given the id of an order the caller may not see answers exactly as for an id that matches nothing
 * (BAD_USER_INPUT "No order has the id ..."), so it cannot be used to learn which ids exist; the audit log keeps
 * the difference. "May see" is the field's own rule applied to the row (the Order type's owner rule).
 */
function concealUnlessVisible(auth: RequestAuth, info: GraphQLResolveInfo, order: OrderRow): void {
  if (auth.mayReturn(info, order)) return;
  auth.conceal(info);
  throw noSuchOrder(order.id);
}
