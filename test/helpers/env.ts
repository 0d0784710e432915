/**
 * Remembers the current values of `names` in `process.env` and returns a function that puts them back (deleting
 * those that were unset), for tests that configure a module through the environment as a deployment would.
 */
export function stashEnv(names: readonly string[]): () => void {
  const saved = new Map(names.map((name) => [name, process.env[name]]));
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
