import type { DevTokenRequest } from "../auth/index.js";

/** The app client of the dev web frontend: user tokens are issued for it. */
export const DEV_APP_CLIENT_ID = "devwebapp";
/** The dev machine client (client-credentials grant); its tokens' `sub` is this id. */
export const DEV_FULFILLMENT_CLIENT_ID = "devfulfillment";
export const DEV_CLIENT_IDS = [DEV_APP_CLIENT_ID, DEV_FULFILLMENT_CLIENT_ID] as const;

/** Cognito gives a person's access token these scopes when the app asks for the usual OpenID scopes. */
const USER_SCOPES = ["openid", "email", "profile"];

export type PersonaName = "alice" | "bob" | "sam" | "stella" | "ada" | "fulfillment";

/**
 * The dev personas. Their `sub`s are stable: the dev database's seed data belongs to the same `sub`s, so a
 * token from `npm run token -- alice` sees alice's orders.
 */
export const PERSONAS: Readonly<Record<PersonaName, Omit<DevTokenRequest, "tokenUse" | "expiresInSeconds">>> = {
  alice: {
    sub: "a11ce000-0000-4000-8000-000000000001",
    username: "alice",
    email: "alice@example.com",
    groups: [],
    scopes: USER_SCOPES,
    clientId: DEV_APP_CLIENT_ID,
  },
  bob: {
    sub: "b0b00000-0000-4000-8000-000000000002",
    username: "bob",
    email: "bob@example.com",
    groups: [],
    scopes: USER_SCOPES,
    clientId: DEV_APP_CLIENT_ID,
  },
  sam: {
    sub: "5a300000-0000-4000-8000-000000000003",
    username: "sam",
    email: "sam@example.com",
    groups: ["support"],
    scopes: USER_SCOPES,
    clientId: DEV_APP_CLIENT_ID,
  },
  stella: {
    sub: "57e11a00-0000-4000-8000-000000000004",
    username: "stella",
    email: "stella@example.com",
    groups: ["staff"],
    scopes: USER_SCOPES,
    clientId: DEV_APP_CLIENT_ID,
  },
  ada: {
    sub: "ada00000-0000-4000-8000-000000000005",
    username: "ada",
    email: "ada@example.com",
    groups: ["admin"],
    scopes: USER_SCOPES,
    clientId: DEV_APP_CLIENT_ID,
  },
  fulfillment: {
    sub: DEV_FULFILLMENT_CLIENT_ID,
    scopes: ["orders/read", "orders/write"],
    clientId: DEV_FULFILLMENT_CLIENT_ID,
  },
};

export const isPersonaName = (name: string): name is PersonaName => Object.hasOwn(PERSONAS, name);

/**
 * Dev mode's answer to Cognito's `GetUser`: the attributes of the persona whose `sub` the token carries (every
 * persona's email is verified). Tokens of other subs (`npm run token -- --sub x`) have no attributes here.
 */
export async function devUserAttributes(principal: { readonly sub: string }): Promise<Readonly<Record<string, string>> | null> {
  const persona = Object.values(PERSONAS).find((p) => p.sub === principal.sub && p.username !== undefined);
  return persona?.email ? { sub: persona.sub, email: persona.email, email_verified: "true" } : null;
}
