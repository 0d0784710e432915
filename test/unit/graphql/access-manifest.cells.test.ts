import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, subscribe } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationList } from "../../../src/auth/index.js";
import { accessManifest, manifestText, type AccessManifest } from "../../../src/graphql/access-manifest.js";
import { buildSchema } from "../../../src/graphql/schema.js";
import { DEV_FULFILLMENT_CLIENT_ID, PERSONAS } from "../../../src/dev/personas.js";
import { startInProcess, type InProcessApp, type InProcessResponse } from "../../helpers/in-process.js";
import { generateCells, type Cell, type PrincipalClass, type SampleRow } from "../../helpers/access-cells.js";

/**
 * The access matrix, generated: every root field and every field with a rule of its own (from the committed
 * manifest) against every principal class, each cell asserting the decision the manifest implies, through the
 * product's Apollo server and context factory (no socket). A field added to the schema gets its cells here the
 * day `npm run codegen` puts it in the manifest; a rule changed in the schema without the manifest fails below.
 */
const MANIFEST_FILE = join(import.meta.dirname, "..", "..", "..", "src", "__generated__", "access-manifest.json");
const committed = JSON.parse(readFileSync(MANIFEST_FILE, "utf8")) as AccessManifest;
const schema = buildSchema();

const persona = (name: keyof typeof PERSONAS, className: string): PrincipalClass => ({
  name: className,
  sub: PERSONAS[name].sub,
  groups: PERSONAS[name].groups ?? [],
  scopes: PERSONAS[name].scopes ?? [],
});
const machine = (scope: string): PrincipalClass => ({
  name: `machine ${scope}`,
  sub: DEV_FULFILLMENT_CLIENT_ID,
  groups: [],
  scopes: [scope],
});
const CLASSES: PrincipalClass[] = [
  { name: "anonymous", anonymous: true, sub: "", groups: [], scopes: [] },
  persona("alice", "owning customer"),
  persona("bob", "other customer"),
  persona("sam", "support"),
  persona("stella", "staff"),
  persona("ada", "admin"),
  machine("orders/read"),
  machine("orders/write"),
  { ...persona("alice", "revoked session"), revoked: true },
];

/** The seed rows the generated operations look up by id; the owning customer owns the order. */
const SAMPLES: Record<string, SampleRow> = {
  Order: { id: "ord-alice-2", fields: { customerId: PERSONAS.alice.sub } },
  Product: { id: "prd-keyboard", fields: {} },
};

/**
 * Where a resolver refuses more than the manifest's rule (rules the grammar cannot say). Each entry is asserted
 * too: if the resolver stops refusing, this list fails instead of rotting.
 */
const NARROWED_IN_RESOLVERS: Record<string, { classes: string[]; required: string[] }> = {
  // Orders are placed by people; a machine client has no customer to stand for.
  "Mutation.placeOrder": {
    classes: ["machine orders/read", "machine orders/write"],
    required: ["a person's token (not a machine client)"],
  },
  // Cancelling is for the customer or support, though staff, admins and machines may read the order.
  "Mutation.cancelOrder": {
    classes: ["staff", "admin", "machine orders/read", "machine orders/write"],
    required: ["owner:customerId|group:support"],
  },
};

let app: InProcessApp;

describe("the generated access matrix", () => {
  it("reads a manifest that agrees with the live schema (a rule changed without npm run codegen fails here)", () => {
    expect(manifestText(committed)).toBe(manifestText(accessManifest(schema)));
  });

  const { cells, unreachable } = generateCells(committed, schema, CLASSES, SAMPLES);

  it("covers every root field and every field with a rule of its own, for every principal class", () => {
    const fields = new Set(cells.map((c) => c.coordinate));
    for (const root of ["Query", "Mutation", "Subscription"]) {
      for (const name of Object.keys(committed.types[root] ?? {})) expect(fields).toContain(`${root}.${name}`);
    }
    expect(fields).toContain("Order.customerEmail");
    expect(fields).toContain("Product.costPriceCents");
    expect(cells.length).toBe(fields.size * CLASSES.length);
  });

  it("names the fields only a subscription's events reach (delivery is tested over WebSocket in test/e2e/ws/subscriptions.test.ts)", () => {
    expect(unreachable).toEqual(["OrderEvent.order"]);
  });

  const tokens = new Map<string, string | undefined>();
  beforeAll(async () => {
    const revocations = new RevocationList();
    app = await startInProcess({}, { revocations });
    for (const principal of CLASSES) {
      if (principal.anonymous) {
        tokens.set(principal.name, undefined);
        continue;
      }
      const named = Object.values(PERSONAS).find((p) => p.sub === principal.sub)!;
      const token = app.devIssuer.mint({ ...named, groups: principal.groups, scopes: principal.scopes });
      if (principal.revoked) {
        const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as { origin_jti: string };
        revocations.add({
          kind: "session",
          sub: principal.sub,
          sessionId: claims.origin_jti,
          expiresAt: new Date(Date.now() + 86_400_000),
        });
      }
      tokens.set(principal.name, `Bearer ${token}`);
    }
  });
  afterAll(async () => {
    await app?.close();
  });

  it.each(cells.map((cell) => ({ ...cell, label: `${cell.coordinate} as ${cell.principal.name}: ${describeExpected(cell)}` })))(
    "$label",
    async (cell) => {
      const authorization = tokens.get(cell.principal.name);
      const observed =
        cell.operation === "subscription" ? await subscribeOnce(cell, authorization) : await app.execute(cell.document, authorization);
      const narrowed = NARROWED_IN_RESOLVERS[cell.coordinate];
      if (narrowed?.classes.includes(cell.principal.name)) {
        expect(cell.expected.kind, "the manifest allows what the resolver narrows").toBe("allowed");
        expect(observed.status, JSON.stringify(observed.body)).toBe(403);
        expect(observed.body.errors?.[0]?.extensions?.auth?.denied).toEqual([
          { coordinate: cell.coordinate, required: narrowed.required, missing: narrowed.required },
        ]);
        return;
      }
      assertDecision(cell, observed);
    },
  );
});

function describeExpected({ expected }: Cell): string {
  switch (expected.kind) {
    case "allowed":
      return "allowed";
    case "refused":
      return `refused (${expected.reason})`;
    case "concealed":
      return `concealed at ${expected.coordinate}`;
    case "owner-checked":
      return `reaches the owner check of ${expected.coordinate}`;
    case "denied":
      return `${expected.code} at ${expected.coordinate}${expected.whole ? " (whole operation)" : ""}`;
  }
}

const AUTH_CODES = new Set(["UNAUTHENTICATED", "FORBIDDEN"]);
const withoutIndices = (path: readonly (string | number)[] | undefined) => (path ?? []).filter((k) => typeof k === "string").join(".");

function assertDecision(cell: Cell, observed: InProcessResponse): void {
  const { expected } = cell;
  const errors = observed.body.errors ?? [];
  const shown = `${cell.document}\n${observed.status} ${JSON.stringify(observed.body)}`;
  const authErrors = errors.filter((e) => AUTH_CODES.has(e.extensions?.code));
  const concealed = observed.context?.auth.concealed.map((c) => c.coordinate) ?? [];
  expect(
    errors.filter((e) => e.extensions?.code === "INTERNAL_SERVER_ERROR"),
    shown,
  ).toEqual([]);
  switch (expected.kind) {
    case "refused":
      expect(observed.status, shown).toBe(401);
      expect(errors[0]?.extensions?.auth?.reason, shown).toBe(expected.reason);
      return;
    case "allowed":
      expect(observed.status, shown).toBe(200);
      expect(authErrors, shown).toEqual([]);
      expect(concealed, shown).toEqual([]);
      return;
    case "concealed":
      expect(authErrors, shown).toEqual([]);
      expect(concealed, shown).toContain(expected.coordinate);
      if (expected.whole)
        expect(
          errors.map((e) => e.extensions?.code),
          shown,
        ).toEqual(["BAD_USER_INPUT"]);
      else expect(Object.values(observed.body.data ?? {}), shown).toEqual([null]);
      return;
    case "owner-checked": {
      // Not refused before execution; the only denial allowed is the owner rule's own, on the row.
      const others = authErrors.filter(
        (e) =>
          e.extensions?.auth?.coordinate !== expected.coordinate &&
          !(e.extensions?.auth?.denied ?? []).every((d: { coordinate: string }) => d.coordinate === expected.coordinate),
      );
      expect(others, shown).toEqual([]);
      expect([200, 403]).toContain(observed.status);
      return;
    }
    case "denied":
      if (expected.whole) {
        expect(observed.status, shown).toBe(expected.code === "UNAUTHENTICATED" ? 401 : 403);
        expect(observed.body.data ?? null, shown).toBeNull();
        expect(
          errors.map((e) => e.extensions?.code),
          shown,
        ).toEqual([expected.code]);
        expect(
          errors[0]!.extensions!.auth.denied.map((d: { coordinate: string }) => d.coordinate),
          shown,
        ).toContain(expected.coordinate);
      } else {
        expect(observed.status, shown).toBe(200);
        const at = authErrors.find((e) => withoutIndices(e.path) === expected.path);
        expect(at, shown).toBeDefined();
        expect(at!.extensions!.code, shown).toBe(expected.code);
        expect(at!.extensions!.auth.coordinate, shown).toBe(expected.coordinate);
      }
      return;
  }
}

/**
 * A Subscription root field, as the WebSocket transport opens it: graphql-js `subscribe` with the product's
 * context. An HTTP context has no event feed, so a caller the rule lets through reaches the resolver and gets
 * its "WebSocket only" error; a refused caller gets the rule's 401/403 error.
 */
async function subscribeOnce(cell: Cell, authorization: string | undefined): Promise<InProcessResponse> {
  let contextValue;
  try {
    contextValue = await app.context(authorization);
  } catch (error) {
    const { http, ...extensions } = (error as { extensions: Record<string, any> }).extensions;
    return { status: http.status, body: { errors: [{ message: (error as Error).message, extensions }] }, context: undefined };
  }
  const result = await subscribe({ schema: app.schema, document: parse(cell.document), contextValue });
  if (Symbol.asyncIterator in result) {
    await result.return?.();
    return { status: 200, body: { data: {} }, context: contextValue };
  }
  const errors = (result.errors ?? []).map((e) => ({
    message: e.message,
    path: e.path as (string | number)[] | undefined,
    extensions: e.extensions as Record<string, any>,
  }));
  const auth = errors.find((e) => AUTH_CODES.has(e.extensions?.code));
  if (auth)
    return {
      status: auth.extensions!.http?.status ?? 403,
      body: { data: null, errors: [{ ...auth, extensions: withoutHttp(auth.extensions!) }] },
      context: contextValue,
    };
  // Reached the subscribe resolver: the rule let the caller through.
  return { status: 200, body: { data: {} }, context: contextValue };
}

const withoutHttp = ({ http: _http, ...rest }: Record<string, any>) => rest;
