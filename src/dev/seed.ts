import type { Db } from "../data/database.js";
import { seed } from "../data/seed.js";
import { PERSONAS } from "./personas.js";

/** Seeds the dev database with the personas as customers, so their tokens see their orders. */
export function seedDevData(db: Db): Promise<void> {
  const customer = (name: "alice" | "bob" | "sam" | "stella" | "ada") => {
    const persona = PERSONAS[name];
    return { sub: persona.sub, username: persona.username!, email: persona.email! };
  };
  return seed(db, {
    alice: customer("alice"),
    bob: customer("bob"),
    sam: customer("sam"),
    stella: customer("stella"),
    ada: customer("ada"),
  });
}
