// `cdk synth` / `cdk deploy` (cdk.json: `node bin/app.ts`), or `node bin/app.ts` alone: synthesizes the
// stack into cdk.out/ without AWS credentials. Settings come from CDK context (infra/lib/settings.ts).
import { App } from "aws-cdk-lib";
import { readSettings, SettingsError } from "../lib/settings.ts";
import { OrdersApiStack } from "../lib/stack.ts";

const app = new App({ outdir: process.env.CDK_OUTDIR ?? new URL("../cdk.out", import.meta.url).pathname });
try {
  const settings = readSettings((name) => app.node.tryGetContext(name));
  const stackName = String(app.node.tryGetContext("stackName") ?? "OrdersApi");
  new OrdersApiStack(app, stackName, { settings, description: `The orders GraphQL API (${settings.api}), its user pool and PostgreSQL` });
  app.synth();
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  console.error(error.message);
  process.exit(1);
}
