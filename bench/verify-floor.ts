/**
 * The floor of a never-seen token (`--instructions`, cell `verify-floor`): node:crypto's `crypto.verify` of an
 * RSA-2048/SHA-256 JWT signature on a KeyObject made once, and nothing else. A child process of bench/bench.ts,
 * counted under callgrind like the server cells (same V8 flags, warm-up, quiet, full collection), but with no server:
 * it reports `{ type: "ready", port: 0 }`, then answers each `{ type: "verify" }` message by verifying the next
 * `VERIFY_BATCH` tokens of its list, one `crypto.verify` each, and `{ type: "gc" }` after a full collection.
 * A batch per message keeps the IPC round trip (tens of thousands of instructions) out of the figure: it is spread
 * over the batch's verifications.
 *
 * argv[2] is a JSON file: `{ "jwk": <the RSA public key as a JWK>, "tokens": [<compact JWTs>] }` (the bench's own
 * `me-distinct` tokens, so the floor verifies what the server verifies). Each verification takes the token's
 * signing input and signature from the string, as any JWT verifier must: `Buffer.from` of the signing input and of
 * the base64url signature, then `crypto.verify("sha256", ...)`.
 */
import { createPublicKey, verify, type JsonWebKey } from "node:crypto";
import { readFileSync } from "node:fs";

/** Verifications per IPC message (argv[3]). */
const VERIFY_BATCH = Number(process.argv[3]);

const { jwk, tokens } = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as { jwk: JsonWebKey; tokens: string[] };
const key = createPublicKey({ key: jwk, format: "jwk" });
const parts = tokens.map((token) => {
  const dot = token.lastIndexOf(".");
  return { signingInput: token.slice(0, dot), signature: token.slice(dot + 1) };
});
let next = 0;

function verifyBatch(): boolean {
  let ok = true;
  for (let i = 0; i < VERIFY_BATCH; i++) {
    const { signingInput, signature } = parts[next++ % parts.length]!;
    ok = verify("sha256", Buffer.from(signingInput), key, Buffer.from(signature, "base64url")) && ok;
  }
  return ok;
}

process.send!({ type: "ready", port: 0 });
process.once("SIGINT", () => process.exit(0));
process.on("message", (message: { type: string }) => {
  if (message.type === "verify") {
    process.send!({ type: "verify", ok: verifyBatch() });
  } else if (message.type === "gc") {
    (globalThis as { gc?: () => void }).gc?.();
    process.send!({ type: "gc-done" });
  }
});
