import type { ALBEvent, APIGatewayProxyEventV2 } from "aws-lambda";
import type { CredentialSources } from "../auth/index.js";

/**
 * API Gateway joins repeated headers with commas (`Bearer a,Bearer b`), which the bearer grammar refuses as
 * malformed; cookies arrive in their own list.
 */
export function sourcesOfHttpApiEvent(event: APIGatewayProxyEventV2): CredentialSources {
  const authorization = headerValues(event.headers, "authorization");
  return { authorization, search: event.rawQueryString ?? "", cookie: event.cookies?.join("; ") };
}

/**
 * ALB events in the default single-value mode: the load balancer keeps only the last of repeated headers, so two
 * Authorization headers cannot be told apart here (the Lambda integration does not support multi-value mode).
 * Query values arrive still URL-encoded, as they were sent.
 */
export function sourcesOfAlbEvent(event: ALBEvent): CredentialSources {
  const headers = event.headers ?? {};
  const search = Object.entries(event.queryStringParameters ?? {})
    .map(([name, value]) => `${name}=${value ?? ""}`)
    .join("&");
  return { authorization: headerValues(headers, "authorization"), search, cookie: headerValues(headers, "cookie")[0] };
}

/** Header names are case-insensitive; events keep the case the client sent (ALB) or lower-case them (HTTP API). */
function headerValues(headers: Record<string, string | undefined>, name: string): string[] {
  return Object.entries(headers).flatMap(([key, value]) => (key.toLowerCase() === name && value !== undefined ? [value] : []));
}
