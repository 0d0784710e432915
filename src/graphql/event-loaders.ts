import type { Db } from "../data/database.js";
import { createLoaders, type Loaders } from "../data/loaders.js";

/**
 * Batch loaders shared by every subscriber's execution of one source event on this replica. The feed hands the
 * same event object to every subscription, so keying the loaders by that object makes the event's order (and its
 * items, products, customer) a single read per replica, whatever the number of subscribers. The loaders read by
 * id with no rule applied (as every loader does); the rules and selections still run per subscriber on the shared
 * rows, so what each subscriber receives is unchanged. Reads go through `db` outside any transaction
 * (subscriptions only read). An event that is not an object (a test's counter) gets loaders of its own.
 *
 * The loaders live as long as the event object: once every subscriber has executed it and dropped it, both go.
 */
export function sharedEventLoaders(db: Db): (event: unknown) => Loaders {
  const byEvent = new WeakMap<object, Loaders>();
  return (event) => {
    if (typeof event !== "object" || event === null) return createLoaders(db);
    let loaders = byEvent.get(event);
    if (!loaders) byEvent.set(event, (loaders = createLoaders(db)));
    return loaders;
  };
}
