import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How the fake answers: after `delayMs`, never (`hang`), when the test calls `release()` (`hold`), or with a 500 (`fail`). */
export type FakeCognitoBehaviour =
  | { readonly mode: "answer"; readonly delayMs?: number }
  | { readonly mode: "hang" }
  | { readonly mode: "hold" }
  | { readonly mode: "fail"; readonly delayMs?: number };

export interface FakeCognito {
  /** What to put in AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER. */
  readonly endpoint: string;
  setBehaviour(behaviour: FakeCognitoBehaviour): void;
  /** Calls received so far of one API operation (`GetUser`, `AdminUserGlobalSignOut`, ...), answered or not. */
  received(operation: string): number;
  /** Calls received and not answered yet. */
  pending(): number;
  /** Calls answered so far (successfully or with a failure). */
  answered(): number;
  /** Answers every call held by the `hold` behaviour, as `answer` would. */
  release(): void;
  /** Resolves once `pending()` is at least `count` (an event, not a sleep). */
  whenPending(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A Cognito user pools endpoint the test controls: a node:http server on 127.0.0.1 speaking the AWS JSON 1.1
 * protocol the SDK uses (`POST /`, `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`). `GetUser`
 * answers the token's subject with a verified email `<sub>@example.com`; other operations answer `{}`.
 */
export async function startFakeCognito(): Promise<FakeCognito> {
  let behaviour: FakeCognitoBehaviour = { mode: "answer" };
  const counts = new Map<string, number>();
  const open = new Set<ServerResponse>();
  const held: (() => void)[] = [];
  let answered = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const notify = () => {
    for (const waiter of [...waiters]) {
      if (open.size >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const server = createServer((req, res) => {
    const operation =
      String(req.headers["x-amz-target"] ?? "")
        .split(".")
        .pop() ?? "";
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk));
    req.on("end", () => {
      open.add(res);
      res.once("close", () => open.delete(res));
      notify();
      const current = behaviour;
      if (current.mode === "hang") return;
      const reply = () => {
        if (res.destroyed) return;
        answered++;
        if (current.mode === "fail") {
          res
            .writeHead(500, { "content-type": "application/x-amz-json-1.1" })
            .end(JSON.stringify({ __type: "InternalErrorException", message: "fake Cognito failure" }));
          return;
        }
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify(answerTo(operation, body)));
      };
      if (current.mode === "hold") held.push(reply);
      else if (current.delayMs) setTimeout(reply, current.delayMs).unref();
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setBehaviour: (next) => (behaviour = next),
    received: (operation) => counts.get(operation) ?? 0,
    pending: () => open.size,
    answered: () => answered,
    release: () => {
      for (const reply of held.splice(0)) reply();
    },
    whenPending: (count, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`fake Cognito: ${count} pending calls not within ${timeoutMs} ms (${open.size})`)),
          timeoutMs,
        );
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
        notify();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answerTo(operation: string, body: string): unknown {
  if (operation !== "GetUser") return {};
  const token = String((JSON.parse(body || "{}") as { AccessToken?: string }).AccessToken ?? "");
  const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8") || "{}") as {
    sub?: string;
    username?: string;
  };
  return {
    Username: claims.username ?? claims.sub,
    UserAttributes: [
      { Name: "sub", Value: claims.sub },
      { Name: "email", Value: `${claims.sub}@example.com` },
      { Name: "email_verified", Value: "true" },
    ],
  };
}
