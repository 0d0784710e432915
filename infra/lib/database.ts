import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as rds from "aws-cdk-lib/aws-rds";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import type { Settings } from "./settings.ts";

/** The database's name and its owner, the login the API uses. */
export const DATABASE_NAME = "orders";
export const DATABASE_USER = "orders_api";

/**
 * RDS for PostgreSQL in the VPC's isolated subnets, not publicly accessible, encrypted, reachable only from what
 * `allowFrom` names. Its login is a Secrets Manager secret (generated password, never in the template); RDS adds
 * `host`, `port`, `dbname` and `engine` to it once the instance exists, and the API reads it at start through
 * `DATABASE_SECRET_ARN`. The secret also carries `sslmode: verify-full`: RDS for PostgreSQL 15 and later refuse
 * connections without TLS, and the API checks the server's certificate against the RDS CA.
 */
export class OrdersDatabase extends Construct {
  readonly instance: rds.DatabaseInstance;
  readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: { vpc: ec2.IVpc; settings: Settings }) {
    super(scope, id);
    const { settings } = props;
    const login = new secretsmanager.Secret(this, "Login", {
      description: "PostgreSQL login of the orders API (JSON: username, password, host, port, dbname, sslmode)",
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: DATABASE_USER, sslmode: "verify-full" }),
        generateStringKey: "password",
        passwordLength: 32,
        // Characters RDS refuses in a master password, and the ones a connection URL would need escaped anyway.
        excludeCharacters: " %+~`#$&*()|[]{}:;<>?!'/@\"\\",
      },
    });
    this.instance = new rds.DatabaseInstance(this, "Instance", {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_9 }),
      instanceType: new ec2.InstanceType(settings.databaseInstanceType),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      publiclyAccessible: false,
      credentials: rds.Credentials.fromSecret(login),
      databaseName: DATABASE_NAME,
      port: 5432,
      storageEncrypted: true,
      allocatedStorage: 20,
      storageType: rds.StorageType.GP3,
      multiAz: settings.databaseMultiAz,
      backupRetention: Duration.days(7),
      deletionProtection: settings.databaseDeletionProtection,
      // `cdk destroy` leaves a final snapshot rather than the data's only copy disappearing.
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    this.secret = this.instance.secret!;
  }

  /** Lets `peer` connect on PostgreSQL's port. */
  allowFrom(peer: ec2.IConnectable): void {
    this.instance.connections.allowDefaultPortFrom(peer, "the orders API");
  }
}
