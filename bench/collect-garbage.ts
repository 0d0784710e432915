/**
 * The counted processes' answer to `{ type: "gc", kind }` (bench/instructions.ts): a full collection, or with
 * `kind: "minor"` a young-generation one, through `node --expose-gc`'s `gc()` (nothing without the flag).
 */
export function collectGarbage(message: { readonly type: string; readonly kind?: unknown }): void {
  const gc = (globalThis as { gc?: (options?: { type: "major" | "minor" }) => void }).gc;
  gc?.({ type: message.kind === "minor" ? "minor" : "major" });
}
