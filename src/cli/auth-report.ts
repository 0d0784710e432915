import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { AuthSchemaError } from "../auth/index.js";
import { accessManifest, formatAccessTable, manifestText } from "../graphql/access-manifest.js";
import { buildSchema, SCHEMA_DIR } from "../graphql/schema.js";
import { fail, parseCommandLine, USAGE_ERROR } from "./args.js";

const MANIFEST_FILE = join(import.meta.dirname, "..", "__generated__", "access-manifest.json");

const USAGE = `Prints every object field's effective access rule, from the schema as the server builds it.

  npm run auth:report                 the table
  npm run auth:report -- --write      writes the JSON manifest (npm run codegen does)
  npm run auth:report -- --check      exits 1 if the manifest is stale (npm run codegen:check does)

Flags:
  --schema DIR      schema files to read (default: schema/)
  --manifest FILE   the manifest (default: src/__generated__/access-manifest.json)

Exits 1, listing the problems, when the @auth rules refuse the schema (e.g. a root field with no decision).`;

function main(): void {
  const parsed = parseCommandLine(
    {
      options: {
        write: { type: "boolean" },
        check: { type: "boolean" },
        schema: { type: "string" },
        manifest: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    },
    USAGE,
  );
  if (!parsed) return;
  const { values } = parsed;
  if (values.write && values.check) fail(`--write and --check do not go together.\n\n${USAGE}`, USAGE_ERROR);

  let schema;
  try {
    schema = buildSchema(values.schema ?? SCHEMA_DIR);
  } catch (error) {
    if (!(error instanceof AuthSchemaError)) throw error;
    fail(`The schema is refused by its @auth rules:\n${error.problems.map((p) => `  - ${p}`).join("\n")}`, 1);
  }
  const manifest = accessManifest(schema);
  const file = values.manifest ?? MANIFEST_FILE;
  const shown = relative(process.cwd(), file);
  if (values.write) {
    writeFileSync(file, manifestText(manifest));
    console.log(`Wrote ${shown}`);
  } else if (values.check) {
    let current: string | undefined;
    try {
      current = readFileSync(file, "utf8");
    } catch {
      current = undefined;
    }
    if (current !== manifestText(manifest)) fail(`${shown} is stale or missing: run npm run codegen.`, 1);
    console.log(`${shown} is up to date.`);
  } else {
    process.stdout.write(formatAccessTable(manifest));
  }
}

main();
