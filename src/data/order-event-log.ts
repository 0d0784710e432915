import type { Logger } from "pino";
import type { Db } from "./database.js";
import type { OrderEventMessage } from "./order-events.js";

/** Events read from the log per statement while a subscription catches up. */
export const REPLAY_PAGE_SIZE = 500;

export interface ReplayPage {
  /** Whether the event `after` itself is still in the log (false: pruned, or never there). */
  readonly found: boolean;
  /** Up to `REPLAY_PAGE_SIZE` events after `after`, in log order. */
  readonly events: OrderEventMessage[];
}

/**
 * One page of the durable log after the event `after` (a log id, decimal string), optionally only `customerId`'s
 * events (the customer filter runs in SQL: other customers' events are never read). One statement: the event
 * `after` itself is read with the page, so that a cursor the log no longer has (older than the retention) is told
 * apart from a quiet log. Every row is committed (ids are assigned in commit order, see `publishOrderEvent`), so a
 * page never skips an event a later page could still reveal.
 */
export async function readOrderEventsAfter(
  db: Db,
  after: string,
  options: { customerId?: string; checkAfter?: boolean } = {},
): Promise<ReplayPage> {
  let query = db.selectFrom("orderEvents").select(["id", "orderId", "customerId", "kind", "occurredAt"]);
  // The anchor row is matched by id alone: a customer's cursor names an event of their own order anyway.
  if (options.checkAfter)
    query = query.where((eb) =>
      eb.or([
        eb("id", "=", after as never),
        eb.and([eb("id", ">", after as never), ...(options.customerId ? [eb("customerId", "=", options.customerId)] : [])]),
      ]),
    );
  else {
    query = query.where("id", ">", after as never);
    if (options.customerId) query = query.where("customerId", "=", options.customerId);
  }
  const rows = await query
    .orderBy("id")
    .limit(REPLAY_PAGE_SIZE + (options.checkAfter ? 1 : 0))
    .execute();
  const found = options.checkAfter ? rows.length > 0 && String(rows[0]!.id) === after : true;
  const events = rows
    .filter((row) => String(row.id) !== after)
    .map((row) => ({ seq: String(row.id), orderId: row.orderId, customerId: row.customerId, kind: row.kind, occurredAt: row.occurredAt }));
  return { found, events };
}

/** Deletes the log's events that occurred more than `retentionSeconds` ago; returns how many. Throws if the database fails. */
export async function pruneOrderEvents(db: Db, retentionSeconds: number): Promise<number> {
  const cutoff = new Date(Date.now() - retentionSeconds * 1000);
  const result = await db
    .deleteFrom("orderEvents")
    .where("occurredAt", "<", cutoff as never)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Prunes the log every quarter of the retention (at most every 5 minutes), so an event is kept at least
 * `retentionSeconds` and at most about a quarter longer. Every replica prunes (the deletes are idempotent).
 * A failure is logged as a warning and retried at the next turn. Returns the function that stops it.
 */
export function startOrderEventPruner(db: Db, retentionSeconds: number, logger?: Logger): () => void {
  const everyMs = Math.min(retentionSeconds * 250, 300_000);
  const timer = setInterval(() => {
    pruneOrderEvents(db, retentionSeconds).then(
      (deleted) => logger?.debug({ event: "order_events.pruned", deleted, retentionSeconds }, "pruned the order event log"),
      (error: Error) =>
        logger?.warn(
          { event: "order_events.prune_failed", err: { type: error.name, message: error.message } },
          "could not prune the order event log; retrying later",
        ),
    );
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
