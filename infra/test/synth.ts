import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { readSettings } from "../lib/settings.ts";
import { OrdersApiStack } from "../lib/stack.ts";

/**
 * A stand-in for `build/lambda/` (the tests do not run `npm run build:lambda`, which takes a cold start of its
 * own): an `index.mjs` that exports the handler names. The stack only needs the folder to stage it as the asset;
 * `.ci/run` synthesizes once more with the real bundle.
 */
export function fixtureBundle(): string {
  const dir = mkdtempSync(join(tmpdir(), "infra-lambda-bundle-"));
  writeFileSync(
    join(dir, "index.mjs"),
    "export async function handler() { return { statusCode: 503 }; }\nexport const albHandler = handler;\n",
  );
  return dir;
}

/** cdk.json's context (the feature flags and default settings), as `cdk synth` gives it to the app. */
const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(join(import.meta.dirname, "..", "cdk.json"), "utf8")) as { context: Record<string, unknown> }
).context;

/**
 * Synthesizes the stack as `cdk synth -c name=value ...` would (cdk.json's context, then these values) into a
 * scratch cloud assembly.
 */
export function synthesize(context: Record<string, string> = {}): { template: Template; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), "infra-cdk-out-"));
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, ...context } });
  const settings = readSettings((name) => app.node.tryGetContext(name));
  return { template: Template.fromStack(new OrdersApiStack(app, "OrdersApi", { settings })), outdir };
}

/** The template of `synthesize(context)`. */
export function synth(context: Record<string, string> = {}): Template {
  return synthesize(context).template;
}

/** The one resource of `type` in the template (fails when there is not exactly one). */
export function only(template: Template, type: string): { logicalId: string; properties: Record<string, unknown> } {
  const found = Object.entries(template.findResources(type));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  const [logicalId, resource] = found[0]!;
  return { logicalId, properties: (resource as { Properties: Record<string, unknown> }).Properties };
}

/** The API's function (the stack also has the CDK's own custom-resource handler, which locks the VPC's default security group). */
export function apiFunction(template: Template): Record<string, any> {
  const found = Object.values(template.findResources("AWS::Lambda::Function", { Properties: { Handler: "index.handler" } }));
  if (found.length !== 1) throw new Error(`expected one API function, found ${found.length}`);
  return (found[0] as { Properties: Record<string, any> }).Properties;
}
