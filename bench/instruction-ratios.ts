/**
 * `npm run bench -- --instructions`, what the counts say (bench/instruction-cells.ts counts them): three sets of
 * ratios of auth-on against the other variants, what the revocation reload costs per second in `me` requests, and
 * a never-seen token's extra cost in bare RSA verifies against its target, all read from each cell's medians; and
 * the run's results file.
 */
import { RELOAD_CELL, VERIFY_FLOOR_CELL, type CountedCell } from "./instruction-cells.js";
import type { BenchRun } from "./scenarios.js";

/** The target: a never-seen token costs at most this many bare verifies on top of a cached request. */
const NEVER_SEEN_TARGET = 1.2;

/** Prints the reload's cost, the never-seen token's and the ratios of the counted `cells`, and writes the results file. */
export function reportCounts(run: BenchRun, cells: ReadonlyMap<string, CountedCell>): void {
  // As throughput ratios: above 1 means auth-on executes fewer instructions per request than the other. Three sets:
  // without the compiler's work (the steady state, what the targets are read from), in total, and the code's own work
  // (without the collector either: it repeats run to run, where the collector's share of a window does not).
  const ratiosOf = (per: (id: string) => number | undefined) => {
    const ratio = (numerator: string, denominator: string) => {
      const [a, b] = [per(numerator), per(denominator)];
      return a === undefined || b === undefined ? undefined : a / b;
    };
    return {
      "me on/floor": ratio("me|floor", "me|auth-on"),
      "me on/off": ratio("me|auth-off", "me|auth-on"),
      "me on/peer": ratio("me|yoga", "me|auth-on"),
      "me-distinct on/peer": ratio("me-distinct|yoga", "me-distinct|auth-on"),
      "list-allowed on/off": ratio("list-allowed|auth-off", "list-allowed|auth-on"),
      "list-allowed on/peer": ratio("list-allowed|yoga", "list-allowed|auth-on"),
      "list-denied/allowed instructions": ratio("list-denied|auth-on", "list-allowed|auth-on"),
      "orders-page on/off": ratio("orders-page|auth-off", "orders-page|auth-on"),
      "mutation on/off": ratio("mutation|auth-off", "mutation|auth-on"),
    } as Record<string, number | undefined>;
  };
  const steady = (id: string) => cells.get(id)?.medians.withoutCompiler;
  const ratios = ratiosOf(steady);
  const totalRatios = ratiosOf((id) => cells.get(id)?.medians.instructions);
  const codeRatios = ratiosOf((id) => cells.get(id)?.medians.code);
  const reload = steady(`${RELOAD_CELL}|auth-on`);
  const me = steady("me|auth-on");
  if (reload !== undefined) {
    // What the reload costs a replica per second at the default interval, in `me` requests' worth.
    console.log(
      `revocation reload (nothing new): ${Math.round(reload).toLocaleString("en-US")} instructions, every 10 s by default${me ? `: ${(reload / 10 / me).toFixed(2)} me requests' worth per second` : ""}`,
    );
  }
  const neverSeen = neverSeenCost((id) => cells.get(id)?.medians.instructions, steady);
  if (neverSeen) console.log(neverSeen.line);
  const file = run.writeResults("instructions", {
    cells: Object.fromEntries([...cells].map(([id, cell]) => [id, cell.figures])),
    ratios,
    totalRatios,
    codeRatios,
    ...(neverSeen ? { neverSeenOverBareVerify: neverSeen.ratios, neverSeenTarget: NEVER_SEEN_TARGET } : {}),
  });
  console.log(`raw results: ${file}`);
  const line = (set: Record<string, number | undefined>) =>
    Object.entries(set)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k} ${v!.toFixed(3)}x`)
      .join(" | ");
  console.log(`ratios with the compiler's work: ${line(totalRatios)}`);
  console.log(`ratios: ${line(ratios)}`);
  console.log(`ratios of the code's own work: ${line(codeRatios)}`);
}

/**
 * A never-seen token's extra cost (`me-distinct` minus `me`, auth-on) in bare verifies (`verify-floor`), without and
 * with the compiler's work, against the target; `undefined` unless all three cells were counted. A cost ratio: lower
 * is better, unlike the throughput ratios.
 */
function neverSeenCost(
  total: (id: string) => number | undefined,
  steady: (id: string) => number | undefined,
): { ratios: { steady: number; total: number }; line: string } | undefined {
  const of = (per: (id: string) => number | undefined) => {
    const [distinct, cached, floor] = ["me-distinct|auth-on", "me|auth-on", `${VERIFY_FLOOR_CELL}|node-crypto`].map(per);
    return distinct === undefined || cached === undefined || floor === undefined ? undefined : { extra: distinct - cached, floor };
  };
  const [withoutCompiler, withCompiler] = [of(steady), of(total)];
  if (!withoutCompiler || !withCompiler) return undefined;
  const ratios = { steady: withoutCompiler.extra / withoutCompiler.floor, total: withCompiler.extra / withCompiler.floor };
  const figure = (value: number) => Math.round(value).toLocaleString("en-US");
  const line =
    `never-seen token: (me-distinct - me) = ${figure(withoutCompiler.extra)} instructions = ${ratios.steady.toFixed(3)}x a bare ` +
    `crypto.verify (${figure(withoutCompiler.floor)}); with the compiler's work ${ratios.total.toFixed(3)}x; target <= ${NEVER_SEEN_TARGET}x: ` +
    // Each never-seen token includes one whole bare verify, so less than 1x means the count did not verify them all.
    (ratios.steady < 1
      ? "NOT READ: below one verify, so me-distinct's count did not verify every token (a bench fault)"
      : ratios.steady <= NEVER_SEEN_TARGET
        ? "met"
        : "not met");
  return { ratios, line };
}
