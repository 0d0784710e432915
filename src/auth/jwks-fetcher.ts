import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import type { Fetcher } from "aws-jwt-verify/https";
import { FetchError, NonRetryableFetchError } from "aws-jwt-verify/error";
import { assertIsJwks } from "aws-jwt-verify/jwk";

/** Options of the key-set fetcher that `aws-jwt-verify`'s `SimpleJwksCache` calls. */
export interface JwksFetcherOptions {
  /**
   * Maps the Cognito key-set URL that the verifier derives from the pool to the URL actually fetched
   * (`COGNITO_JWKS_URI`: emulators, tests, private networks). Default: fetch the URL as given.
   */
  readonly redirect?: (cognitoJwksUri: string) => string;
  /** Abort a fetch after this many milliseconds. Default 3000. */
  readonly timeoutMs?: number;
  /** Refuse a key set larger than this many bytes. Default 64 KiB (a Cognito key set is about 1 KiB). */
  readonly maxBytes?: number;
  /** After a failed fetch, fail fast for this many milliseconds instead of fetching again. Default 5000. */
  readonly backoffMs?: number;
  /** Told about every fetch (metrics): `ok`, `failed`, or `skipped` while backing off. */
  readonly onFetch?: (result: "ok" | "failed" | "skipped") => void;
}

/**
 * Fetches key sets over `http:` or `https:` (the library's own fetcher speaks only `https:`), with a
 * timeout, a size cap and a back-off after failures so that a flood of requests while the endpoint is down
 * does not become a flood of fetches.
 *
 * A body that is not a well-formed, non-empty key set (not UTF-8 JSON, not `{"keys":[...]}`, no keys, a key
 * without a `kid`) is a failed fetch like a 500: it is backed off, the caller's tokens that need a new key get
 * `AUTH_UNAVAILABLE`, and the cached keys are kept, because the library's cache replaces its keys only with a
 * body this fetcher returned. An empty key set is refused because Cognito never publishes one: it means a broken
 * endpoint, and accepting it would turn every cached user away.
 */
export class JwksFetcher implements Fetcher {
  /** Every URL fetched, in order; tests and metrics read it. */
  readonly fetched: string[] = [];
  private readonly failedUntil = new Map<string, number>();
  // Cognito pools have two issuer formats and so two key-set URLs that redirect to one target: share the fetch.
  private readonly inFlight = new Map<string, Promise<ArrayBuffer>>();

  constructor(private readonly options: JwksFetcherOptions = {}) {}

  fetch(uri: string): Promise<ArrayBuffer> {
    const target = this.options.redirect?.(uri) ?? uri;
    const running = this.inFlight.get(target);
    if (running) return running;
    const fetching = this.fetchOnce(target).finally(() => this.inFlight.delete(target));
    this.inFlight.set(target, fetching);
    return fetching;
  }

  private async fetchOnce(target: string): Promise<ArrayBuffer> {
    const until = this.failedUntil.get(target);
    if (until !== undefined && Date.now() < until) {
      this.options.onFetch?.("skipped");
      throw new NonRetryableFetchError(target, "Key set fetch is backing off after a failure");
    }
    try {
      const body = await this.download(target);
      assertUsableKeySet(target, body);
      this.failedUntil.delete(target);
      this.options.onFetch?.("ok");
      return body;
    } catch (error) {
      this.failedUntil.set(target, Date.now() + (this.options.backoffMs ?? 5000));
      this.options.onFetch?.("failed");
      if (error instanceof FetchError) throw error;
      // Non-retryable: SimpleFetcher-style immediate retries would double the load on a failing endpoint.
      throw new NonRetryableFetchError(target, describeFailure(error));
    }
  }

  /**
   * One GET with node:http(s) rather than `fetch`: loading `fetch` (undici) costs a Lambda cold start tens of
   * milliseconds (docs/performance.md, "Lambda cold start"). No redirects are followed (a 3xx is a failed fetch), no connection is kept.
   */
  private download(target: string): Promise<ArrayBuffer> {
    this.fetched.push(target);
    const timeoutMs = this.options.timeoutMs ?? 3000;
    const maxBytes = this.options.maxBytes ?? 64 * 1024;
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        clearTimeout(timer);
        request.destroy();
        reject(error);
      };
      // The whole exchange, body included, as fetch's AbortSignal.timeout bounded it (a socket timeout would not).
      const timer = setTimeout(() => fail(new Error(`No answer within ${timeoutMs} ms`)), timeoutMs);
      const get = target.startsWith("https:") ? httpsGet : httpGet;
      const request = get(target, { headers: { accept: "application/json" }, agent: false }, (response) => {
        if (response.statusCode !== 200) {
          fail(new NonRetryableFetchError(target, `Status code is ${response.statusCode}, expected 200`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > maxBytes) fail(new NonRetryableFetchError(target, `Key set is larger than ${maxBytes} bytes`));
          else chunks.push(chunk);
        });
        response.on("end", () => {
          clearTimeout(timer);
          const buffer = Buffer.concat(chunks);
          resolve(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer);
        });
        response.on("error", fail);
      });
      request.on("error", fail);
    });
  }
}

/** Throws `NonRetryableFetchError` unless `body` is UTF-8 JSON of a key set with at least one key, each with a `kid`. */
function assertUsableKeySet(target: string, body: ArrayBuffer): void {
  let jwks: unknown;
  try {
    jwks = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new NonRetryableFetchError(target, "Key set is not UTF-8 JSON");
  }
  try {
    assertIsJwks(jwks as Parameters<typeof assertIsJwks>[0]);
  } catch (error) {
    throw new NonRetryableFetchError(target, `Key set is malformed: ${(error as Error).message}`);
  }
  const keys = (jwks as { keys: readonly { kid?: unknown }[] }).keys;
  if (keys.length === 0) throw new NonRetryableFetchError(target, "Key set has no keys");
  if (!keys.every((key) => typeof key.kid === "string" && key.kid !== "")) {
    throw new NonRetryableFetchError(target, "Key set has a key without a kid");
  }
}

/** A failed request's message, with the reason (`ECONNREFUSED`, `ENOTFOUND`, a TLS error) where Node keeps it apart in `cause`. */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  const why = cause?.code ?? cause?.message;
  return why && !error.message.includes(why) ? `${error.message} (${why})` : error.message;
}
