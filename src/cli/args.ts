import { parseArgs, type ParseArgsConfig } from "node:util";

/** Exit code of a command-line tool used wrongly: an unknown flag, a missing value, a bad input file. */
export const USAGE_ERROR = 2;

/** Prints `message` to stderr and exits with `code` (1: the check failed; `USAGE_ERROR`: bad usage or input). */
export function fail(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}

/** A `node:util` parseArgs configuration whose options include `--help` / `-h`. */
type WithHelp = ParseArgsConfig & { readonly options: { readonly help: { readonly type: "boolean"; readonly short: "h" } } };

/**
 * Parses `process.argv` per `config` (node:util `parseArgs`, strict). A parse error prints its message and `usage`
 * to stderr and exits with `USAGE_ERROR`; `--help` prints `usage` to stdout and answers `null` (the tool then ends
 * normally, with exit code 0). Otherwise answers parseArgs' result.
 */
export function parseCommandLine<const T extends WithHelp>(config: T, usage: string): ReturnType<typeof parseArgs<T>> | null {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    fail(`${(error as Error).message}\n\n${usage}`, USAGE_ERROR);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    return null;
  }
  return parsed;
}
