/**
 * Where the instructions of a callgrind profile go, by function, with V8's compiled JavaScript named. callgrind
 * knows native symbols only: code that V8 compiled at run time shows as bare addresses (`0x28159380`). Node run with
 * `--perf-basic-prof` writes every code object it creates to `/tmp/perf-<pid>.map` ("start size name", hexadecimal,
 * the format Linux `perf` reads), and this maps each address to the JavaScript function (`JS:*'name file:line`,
 * where `*` is Turbofan code, `+` Maglev, `^` Sparkplug and `~` the interpreter) or builtin it belongs to.
 */
import { readFileSync } from "node:fs";

export interface FunctionCost {
  readonly name: string;
  /** Instructions executed in the function itself, not in what it called (callgrind's "self" cost). */
  readonly selfInstructions: number;
}

/**
 * Sums the self cost of every function of a callgrind output file (format: valgrind's callgrind-format manual,
 * with name compression `fn=(id) name`), naming addresses from `perfMapFile`, and returns them most costly first.
 */
export function functionCosts(callgrindFile: string, perfMapFile: string): FunctionCost[] {
  const jit = readPerfMap(perfMapFile);
  const names = new Map<string, string>();
  const self = new Map<string, number>();
  let current: string | undefined;
  // The cost line after `calls=` is the call's inclusive cost, charged to the callee: not the caller's own.
  let skipNext = false;
  for (const line of readFileSync(callgrindFile, "utf8").split("\n")) {
    const definition = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (definition) {
      const [, kind, id, name] = definition;
      if (name !== undefined) names.set(id!, name);
      if (kind === "fn") current = id;
      continue;
    }
    if (line.startsWith("calls=")) {
      skipNext = true;
      continue;
    }
    if (current === undefined || !/^[\d+*-]/.test(line)) continue;
    if (skipNext) {
      skipNext = false;
      continue;
    }
    const cost = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(cost)) self.set(current, (self.get(current) ?? 0) + cost);
  }
  const byName = new Map<string, number>();
  for (const [id, cost] of self) {
    const raw = names.get(id) ?? id;
    const address = /^0x([0-9a-f]+)$/.exec(raw);
    const name = address ? (jit.nameAt(parseInt(address[1]!, 16)) ?? raw) : raw.replace(/ \[.*\]$/, "");
    byName.set(name, (byName.get(name) ?? 0) + cost);
  }
  return [...byName]
    .map(([name, selfInstructions]) => ({ name, selfInstructions }))
    .sort((a, b) => b.selfInstructions - a.selfInstructions);
}

function readPerfMap(file: string): { nameAt(address: number): string | undefined } {
  const entries = readFileSync(file, "utf8")
    .split("\n")
    .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))
    .filter((match) => match !== null)
    .map(([, start, size, name]) => ({ start: parseInt(start!, 16), end: parseInt(start!, 16) + parseInt(size!, 16), name: name! }))
    .sort((a, b) => a.start - b.start);
  return {
    nameAt(address) {
      // The last entry starting at or before the address, if the address falls inside it.
      let low = 0;
      let high = entries.length - 1;
      while (low <= high) {
        const middle = (low + high) >> 1;
        if (entries[middle]!.start <= address) low = middle + 1;
        else high = middle - 1;
      }
      const entry = entries[high];
      return entry && address < entry.end ? entry.name : undefined;
    },
  };
}
