import { CfnOutput, Duration } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

export interface LambdaApiProps {
  readonly vpc: ec2.IVpc;
  /** The folder made by `npm run build:lambda` (index.mjs, app.cjs, its code cache, schema/). */
  readonly bundleDir: string;
  readonly environment: Record<string, string>;
}

/**
 * The Lambda shape: the bundle on `nodejs24.x` (handler `index.handler`, payload format 2.0) behind an API
 * Gateway HTTP API, in the VPC's private subnets (it reaches the database there, Cognito's key set and Secrets
 * Manager through the NAT gateway). Queries and mutations only: a Lambda cannot hold a WebSocket.
 */
export class LambdaApi extends Construct {
  readonly function: lambda.Function;
  readonly httpApi: apigw.HttpApi;

  constructor(scope: Construct, id: string, props: LambdaApiProps) {
    super(scope, id);
    this.function = new lambda.Function(this, "Handler", {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.X86_64,
      handler: "index.handler",
      code: lambda.Code.fromAsset(props.bundleDir),
      memorySize: 1024,
      // API Gateway gives up after 30 s.
      timeout: Duration.seconds(29),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      environment: {
        ...props.environment,
        // Node 20+ runtimes load no Amazon CA by default; RDS's certificate chains to one in this file.
        NODE_EXTRA_CA_CERTS: "/var/runtime/ca-cert.pem",
      },
      logGroup: new logs.LogGroup(this, "Logs", { retention: logs.RetentionDays.ONE_MONTH }),
    });
    this.httpApi = new apigw.HttpApi(this, "HttpApi", {
      description: "The orders GraphQL API (Lambda): queries and mutations",
      defaultIntegration: new HttpLambdaIntegration("Graphql", this.function, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    new CfnOutput(scope, "LambdaApiUrl", { value: `${this.httpApi.apiEndpoint}/graphql` });
  }
}
