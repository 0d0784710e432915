import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Construct } from "constructs";
import { apiEnvironment } from "./api-environment.ts";
import { LambdaApi } from "./api-lambda.ts";
import { ContainerApi } from "./api-service.ts";
import { OrdersDatabase } from "./database.ts";
import { SettingsError, type Settings } from "./settings.ts";
import { OrdersUserPool, type ApiIdentity } from "./user-pool.ts";

/** The repository's root (the Docker build context; `lambdaBundle` is relative to it). */
export const REPOSITORY_ROOT = resolve(import.meta.dirname, "..", "..");

export interface OrdersApiStackProps extends StackProps {
  readonly settings: Settings;
  /** Where the repository is (default: the one this file is in); tests point the Lambda bundle elsewhere through settings. */
  readonly repositoryRoot?: string;
}

/**
 * The whole deployment in one stack, env-agnostic (no account or region is looked up at synthesis, so it
 * synthesizes without AWS credentials): a VPC (public subnets for the load balancer and NAT, private ones for
 * the API, isolated ones for the database), the user pool (or an existing one), PostgreSQL, and the API in the
 * shape the `api` setting names, configured from the same stack.
 */
export class OrdersApiStack extends Stack {
  constructor(scope: Construct, id: string, props: OrdersApiStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const root = props.repositoryRoot ?? REPOSITORY_ROOT;
    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: settings.natGateways,
      subnetConfiguration: [
        { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: "app", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: "data", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    });
    const identity: ApiIdentity = settings.existingPool ?? new OrdersUserPool(this, "Auth", settings);
    const database = new OrdersDatabase(this, "Database", { vpc, settings });
    const environment = apiEnvironment(identity, database.secret.secretArn, settings);

    if (settings.api === "lambda" || settings.api === "both") {
      const bundleDir = isAbsolute(settings.lambdaBundle) ? settings.lambdaBundle : join(root, settings.lambdaBundle);
      if (!existsSync(join(bundleDir, "index.mjs"))) {
        throw new SettingsError("lambdaBundle", `${bundleDir}/index.mjs does not exist; run npm run build:lambda first`);
      }
      const api = new LambdaApi(this, "LambdaApi", { vpc, bundleDir, environment });
      database.secret.grantRead(api.function);
      database.allowFrom(api.function);
    }
    if (settings.api === "container" || settings.api === "both") {
      const api = new ContainerApi(this, "ContainerApi", { vpc, repositoryRoot: root, environment, settings });
      database.secret.grantRead(api.service.taskDefinition.taskRole);
      database.allowFrom(api.service.service);
    }
    new CfnOutput(this, "DatabaseSecretArn", { value: database.secret.secretArn });
  }
}
