import type { TestApp } from "./app.js";

/** Values pushed by callbacks, awaited one by one in order (a test waits on the next event, not on time). */
export interface EventQueue<T> {
  push(value: T): void;
  /** The next value not yet taken; waits for it. */
  next(): Promise<T>;
  /** How many values were pushed so far. */
  readonly count: () => number;
}

export function eventQueue<T>(): EventQueue<T> {
  const values: T[] = [];
  const waiting: ((value: T) => void)[] = [];
  let pushed = 0;
  return {
    push(value) {
      pushed++;
      const waiter = waiting.shift();
      if (waiter) waiter(value);
      else values.push(value);
    },
    next: () => (values.length > 0 ? Promise.resolve(values.shift()!) : new Promise<T>((resolve) => waiting.push(resolve))),
    count: () => pushed,
  };
}

/** The server's active subscriptions, from its `/metrics` (dev mode serves it on the API port). */
export async function activeSubscriptions(app: TestApp): Promise<number> {
  const text = (await app.fetch("/metrics")).text;
  const match = /^graphql_ws_subscriptions (\d+)$/m.exec(text);
  if (!match) throw new Error("the server has no graphql_ws_subscriptions metric: start it with { metrics: true }");
  return Number(match[1]);
}

/**
 * Waits until the server has exactly `count` active subscriptions: the moment a subscription is in place (or gone),
 * which the client cannot see. Polls the metric, at most 2,000 times.
 */
export async function waitForSubscriptions(app: TestApp, count: number): Promise<void> {
  for (let attempt = 0; attempt < 2000; attempt++) {
    if ((await activeSubscriptions(app)) === count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the server never had ${count} active subscriptions (it has ${await activeSubscriptions(app)})`);
}
