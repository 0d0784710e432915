import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface JwksServerBehaviour {
  /** HTTP status to answer with. Default 200. */
  status?: number;
  /** Raw body instead of the JWKS (garbage, oversized). */
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface JwksServer {
  /** The URL to put in COGNITO_JWKS_URI. */
  readonly url: string;
  /** Every path requested, in order. */
  readonly requests: string[];
  setJwks(jwks: unknown): void;
  setBehaviour(behaviour: JwksServerBehaviour): void;
  close(): Promise<void>;
}

/** A real local HTTP server publishing a key set, as Cognito does at /.well-known/jwks.json. */
export async function startJwksServer(initial: unknown): Promise<JwksServer> {
  let jwks = initial;
  let behaviour: JwksServerBehaviour = {};
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const answer = () => {
      if (res.destroyed) return;
      res.writeHead(behaviour.status ?? 200, { "content-type": "application/json" });
      res.end(behaviour.body ?? JSON.stringify(jwks));
    };
    if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs).unref();
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests,
    setJwks: (next) => (jwks = next),
    setBehaviour: (next) => (behaviour = next),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
