import type { ApolloServer } from "@apollo/server";
import type { GraphQLError } from "graphql";
import type { GraphQLSchema } from "graphql";
import type { Logger } from "pino";
import { createApp, type App } from "../../src/app.js";
import type { DevIssuer } from "../../src/auth/index.js";
import { loadConfig } from "../../src/config.js";
import type { Db } from "../../src/data/database.js";
import type { AppContext } from "../../src/graphql/context.js";
import type { TestResponse } from "./app.js";
import { createTestDatabase } from "./database.js";
import { tempDir } from "./temp.js";

/**
 * The fast test layer: operations run through the composed application (`createApp`: the same schema, plugins,
 * limits and context factory as every transport) with Apollo's `executeOperation`, without a socket. Status and
 * body come back as over HTTP, so a suite can move between this layer and `startApp` unchanged.
 */
export interface OperationRunner {
  readonly devIssuer: DevIssuer | null;
  readonly db: Db;
  /** SQL statements run so far (for batching tests: read before and after one operation). */
  readonly queryCount: () => number;
  /** Runs one operation; `headers.authorization` is read as an HTTP request's Authorization header would be. */
  run(query: string, options?: { headers?: Record<string, string>; variables?: Record<string, unknown> }): Promise<TestResponse>;
  /** `run`, under `TestApp`'s name, so a suite moves between the layers by its start function alone. */
  graphql(query: string, options?: { headers?: Record<string, string>; variables?: Record<string, unknown> }): Promise<TestResponse>;
  close(): Promise<void>;
}

export async function startOperations(
  env: Record<string, string> = {},
  options: { schema?: GraphQLSchema; postgresUrl?: string; logger?: Logger } = {},
): Promise<OperationRunner> {
  const config = loadConfig({ DATA_DIR: tempDir("api-test-"), ...env, PORT: "0", HOST: "127.0.0.1" });
  const scratch = options.postgresUrl ? await createTestDatabase(options.postgresUrl) : null;
  let queries = 0;
  const app: App = await createApp(config, {
    logger: options.logger ?? null,
    metrics: false,
    schema: options.schema,
    database: { url: scratch?.url ?? null, pgliteDir: null, onQuery: () => queries++ },
  });
  const apollo: ApolloServer<AppContext> = app.apollo("http");
  await apollo.start();
  const runner: OperationRunner = {
    devIssuer: app.devIssuer,
    db: app.db,
    queryCount: () => queries,
    graphql: (query, opts) => runner.run(query, opts),
    async run(query, { headers = {}, variables } = {}) {
      let contextValue: AppContext;
      try {
        const authorization = Object.entries(headers).flatMap(([name, value]) => (name.toLowerCase() === "authorization" ? [value] : []));
        contextValue = await app.contextFor({ authorization, search: "", cookie: undefined });
      } catch (error) {
        // A refused token: the request fails before execution, as the HTTP transport answers it.
        const { message, extensions } = error as GraphQLError;
        const { http, ...rest } = extensions as { http?: { status?: number } };
        const body = { errors: [{ message, extensions: rest }] };
        return { status: http?.status ?? 500, headers: new Headers(), text: JSON.stringify(body), body };
      }
      const response = await apollo.executeOperation({ query, variables }, { contextValue });
      if (response.body.kind !== "single") throw new Error("incremental delivery is not used by this product");
      const body = response.body.singleResult;
      const responseHeaders = new Headers();
      for (const [name, value] of response.http.headers) responseHeaders.set(name, value);
      return { status: response.http.status ?? 200, headers: responseHeaders, text: JSON.stringify(body), body };
    },
    async close() {
      await apollo.stop();
      await app.close();
      await scratch?.drop();
    },
  };
  return runner;
}
