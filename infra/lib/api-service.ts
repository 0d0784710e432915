import { CfnOutput, Duration } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as ecsPatterns from "aws-cdk-lib/aws-ecs-patterns";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { Settings } from "./settings.ts";

/** The server's port in the container, and the metrics listener's (for a sidecar scraper: same task, localhost). */
export const CONTAINER_PORT = 4000;
export const METRICS_PORT = 9464;
/** The server's own bound after its drain (docs/deploying.md, "Shutdown": SHUTDOWN_TIMEOUT_SECONDS plus at most 5 s). */
const SHUTDOWN_OVERRUN_SECONDS = 5;

export interface ContainerApiProps {
  readonly vpc: ec2.IVpc;
  /** The repository's root: the Docker build context (its `Dockerfile` and `.dockerignore`). */
  readonly repositoryRoot: string;
  readonly environment: Record<string, string>;
  readonly settings: Settings;
}

/**
 * The container shape: the repository's `Dockerfile` image on ECS Fargate, several tasks in private subnets
 * behind an internet-facing Application Load Balancer, for everything the API serves, subscriptions included.
 * The load balancer sends traffic to a task only while `/readyz` answers 200. ECS stops a task by deregistering
 * it first (connections kept for at most the deregistration delay), then SIGTERM: the server drains within
 * SHUTDOWN_TIMEOUT_SECONDS (+5 s), and the stop timeout lets it finish before SIGKILL. The settings keep the
 * deregistration delay at least as long as that drain.
 */
export class ContainerApi extends Construct {
  readonly service: ecsPatterns.ApplicationLoadBalancedFargateService;

  constructor(scope: Construct, id: string, props: ContainerApiProps) {
    super(scope, id);
    const { settings } = props;
    const cluster = new ecs.Cluster(this, "Cluster", { vpc: props.vpc, containerInsightsV2: ecs.ContainerInsights.DISABLED });
    this.service = new ecsPatterns.ApplicationLoadBalancedFargateService(this, "Service", {
      cluster,
      desiredCount: settings.desiredCount,
      cpu: 512,
      memoryLimitMiB: 1024,
      publicLoadBalancer: true,
      // HTTPS with a certificate of the team's domain; without one, plain HTTP (for trying the stack out only:
      // bearer tokens would cross the internet unencrypted).
      ...(settings.certificateArn
        ? {
            protocol: elbv2.ApplicationProtocol.HTTPS,
            certificate: acm.Certificate.fromCertificateArn(this, "Certificate", settings.certificateArn),
            redirectHTTP: true,
          }
        : {}),
      taskSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
      // The load balancer's default idle timeout (60 s) suits subscriptions: the server pings every open WebSocket
      // every 12 s, so an idle one still carries traffic.
      taskImageOptions: {
        image: ecs.ContainerImage.fromAsset(props.repositoryRoot, { file: "Dockerfile", platform: Platform.LINUX_AMD64 }),
        containerName: "api",
        containerPort: CONTAINER_PORT,
        environment: {
          ...props.environment,
          PORT: String(CONTAINER_PORT),
          HOST: "0.0.0.0",
          METRICS_PORT: String(METRICS_PORT),
          SHUTDOWN_TIMEOUT_SECONDS: String(settings.shutdownTimeoutSeconds),
        },
        logDriver: ecs.LogDrivers.awsLogs({
          streamPrefix: "api",
          logGroup: new logs.LogGroup(this, "Logs", { retention: logs.RetentionDays.ONE_MONTH }),
        }),
      },
    });
    // Set on the pattern's container afterwards: the pattern has no option for these two.
    const stopTimeout = settings.shutdownTimeoutSeconds + SHUTDOWN_OVERRUN_SECONDS + 5;
    const cfnTask = this.service.taskDefinition.node.defaultChild as ecs.CfnTaskDefinition;
    cfnTask.addPropertyOverride("ContainerDefinitions.0.StopTimeout", stopTimeout);
    cfnTask.addPropertyOverride("ContainerDefinitions.0.HealthCheck", {
      // Liveness from inside the task: node is the image's only program worth running.
      Command: [
        "CMD",
        "node",
        "-e",
        `fetch("http://127.0.0.1:${CONTAINER_PORT}/healthz").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
      ],
      Interval: 15,
      Timeout: 5,
      Retries: 3,
      StartPeriod: 60,
    });
    this.service.targetGroup.configureHealthCheck({
      path: "/readyz",
      healthyHttpCodes: "200",
      interval: Duration.seconds(10),
      timeout: Duration.seconds(5),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 2,
    });
    this.service.targetGroup.setAttribute("deregistration_delay.timeout_seconds", String(settings.deregistrationDelaySeconds));
    new CfnOutput(scope, "ContainerApiUrl", {
      value: `${settings.certificateArn ? "https" : "http"}://${this.service.loadBalancer.loadBalancerDnsName}/graphql`,
    });
  }
}
