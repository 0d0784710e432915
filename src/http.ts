import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from "@apollo/server";

/** Requests larger than this are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;
export const GRAPHQL_PATH = "/graphql";

export interface HttpHandlerOptions<TContext extends BaseContext> {
  readonly apollo: ApolloServer<TContext>;
  /** Builds the GraphQL context of one request; may throw a GraphQLError carrying `extensions.http`. */
  readonly context: (req: IncomingMessage) => Promise<TContext>;
  /** Whether the server can take traffic (`/readyz`). */
  readonly ready: () => boolean;
}

/**
 * A small Node `http` integration for Apollo Server: `/graphql` goes to Apollo, `/healthz` and `/readyz`
 * answer probes, `/` leads to `/graphql`, everything else is 404.
 */
export function createHttpHandler<TContext extends BaseContext>(options: HttpHandlerOptions<TContext>) {
  const { apollo } = options;
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    try {
      if (path === "/healthz") return sendJson(res, 200, { status: "ok" });
      if (path === "/readyz") return options.ready() ? sendJson(res, 200, { status: "ready" }) : sendJson(res, 503, { status: "not ready" });
      if (path === "/") {
        res.writeHead(302, { location: GRAPHQL_PATH }).end();
        return;
      }
      if (path !== GRAPHQL_PATH) return sendJson(res, 404, { errors: [{ message: "Not found. The API is at /graphql." }] });

      const body = await readBody(req);
      if (body === TOO_LARGE) return sendError(res, 413, "The request body is too large.");
      const headers = new HeaderMap();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      let parsed: unknown = body;
      if (body !== "" && (headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
        try {
          parsed = JSON.parse(body);
        } catch {
          return sendError(res, 400, "The request body is not valid JSON.");
        }
      }
      const request: HTTPGraphQLRequest = {
        method: (req.method ?? "GET").toUpperCase(),
        headers,
        search: q === -1 ? "" : url.slice(q + 1),
        body: parsed,
      };
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: request,
        context: () => options.context(req),
      });
      for (const [name, value] of response.headers) res.setHeader(name, value);
      res.statusCode = response.status ?? 200;
      if (response.body.kind === "complete") {
        res.end(response.body.string);
        return;
      }
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    } catch (error) {
      // Apollo answers request errors itself; reaching here is a bug or a broken connection.
      if (!res.headersSent) sendError(res, 500, "Internal server error.");
      else res.destroy(error as Error);
    }
  };
}

const TOO_LARGE = Symbol("too large");

async function readBody(req: IncomingMessage): Promise<string | typeof TOO_LARGE> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) return TOO_LARGE;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return TOO_LARGE;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(value));
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { errors: [{ message, extensions: { code: status === 413 ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST" } }] });
}
