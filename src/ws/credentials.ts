import type { IncomingMessage } from "node:http";
import { GraphQLError } from "graphql";
import type { CredentialSources } from "../auth/index.js";

/**
 * The credential sources of a WebSocket connection: the `Authorization` entry of `connection_init`'s payload (any
 * letter case, as HTTP header names) and any Authorization header of the upgrade request (several are refused
 * like repeated headers), the upgrade URL's query string and its Cookie header (a token there is refused, as over
 * HTTP). Throws a GraphQLError when the payload's value is not a string.
 */
export function credentialSourcesOfInit(
  request: IncomingMessage,
  payload: Readonly<Record<string, unknown>> | undefined,
): CredentialSources {
  const authorization: string[] = [];
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === "authorization") authorization.push(raw[i + 1]!);
  for (const [name, value] of Object.entries(payload ?? {})) {
    if (name.toLowerCase() !== "authorization") continue;
    if (typeof value !== "string") throw new GraphQLError("connection_init's Authorization must be a string");
    authorization.push(value);
  }
  const url = request.url ?? "";
  const q = url.indexOf("?");
  return { authorization, search: q === -1 ? "" : url.slice(q + 1), cookie: request.headers.cookie };
}
