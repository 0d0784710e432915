import type { GraphQLSchema } from "graphql";
import type { Logger } from "pino";
import { createApp } from "../../src/app.js";
import type { DevIssuer, RevocationCheck } from "../../src/auth/index.js";
import { loadConfig } from "../../src/config.js";
import type { Db } from "../../src/data/database.js";
import type { AppContext } from "../../src/graphql/context.js";
import type { Metrics } from "../../src/metrics.js";
import { tempDir } from "./temp.js";

/** What one in-process request answered: the HTTP status and body Apollo would send, and the request's context. */
export interface InProcessResponse {
  readonly status: number;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
  };
  /** The context the request ran with; undefined when the context factory refused the request (a bad token). */
  readonly context: AppContext | undefined;
}

export interface InProcessApp {
  readonly devIssuer: DevIssuer;
  readonly db: Db;
  readonly schema: GraphQLSchema;
  /** Builds the request's context as the HTTP transport does, from an `Authorization` value (or none). */
  context(authorization?: string): Promise<AppContext>;
  /** Runs one operation through Apollo's `executeOperation` with the real context factory: no socket. */
  execute(query: string, authorization?: string): Promise<InProcessResponse>;
  close(): Promise<void>;
}

/**
 * The product as the composition root builds it (`createApp`), in dev mode over an in-memory PGlite database with
 * the seed data, without a listener: for tests that run hundreds of operations (the access matrix).
 */
export async function startInProcess(
  env: Record<string, string> = {},
  options: { readonly revocations?: RevocationCheck; readonly logger?: Logger; readonly metrics?: Metrics } = {},
): Promise<InProcessApp> {
  const config = loadConfig({ DATA_DIR: tempDir("api-inproc-"), ...env });
  const app = await createApp(config, {
    logger: options.logger ?? null,
    metrics: options.metrics ?? false,
    revocations: options.revocations,
    database: { url: null, pgliteDir: null },
    notifications: false,
  });
  const apollo = app.apollo("http");
  await apollo.start();
  const context = (authorization?: string) =>
    app.contextFor({ authorization: authorization ? [authorization] : [], search: "", cookie: undefined });
  return {
    devIssuer: app.devIssuer!,
    db: app.db,
    schema: app.schema,
    context,
    async execute(query, authorization) {
      let contextValue: AppContext;
      try {
        contextValue = await context(authorization);
      } catch (error) {
        const extensions = (error as { extensions?: Record<string, any> }).extensions ?? {};
        const { http, ...rest } = extensions;
        return {
          status: http?.status ?? 500,
          body: { errors: [{ message: (error as Error).message, extensions: rest }] },
          context: undefined,
        };
      }
      const response = await apollo.executeOperation({ query }, { contextValue });
      if (response.body.kind !== "single") throw new Error("an incremental answer was not expected");
      return { status: response.http.status ?? 200, body: response.body.singleResult as InProcessResponse["body"], context: contextValue };
    },
    async close() {
      await apollo.stop();
      await app.close();
    },
  };
}
