import { Aws, CfnOutput, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cognito from "aws-cdk-lib/aws-cognito";
import { Construct } from "constructs";
import type { Settings } from "./settings.ts";

/** The groups the API's rules name (`group:admin`, `group:staff`, `group:support`). */
export const GROUPS = ["admin", "staff", "support"] as const;
/** The resource server's identifier; its scopes are `orders/read` and `orders/write`. */
export const RESOURCE_SERVER = "orders";

/** What the API needs to know of its user pool: the pool id and the app client ids it accepts. */
export interface ApiIdentity {
  readonly userPoolId: string;
  readonly clientIds: readonly string[];
}

/**
 * The user pool the API's rules expect: the groups, the `orders` resource server with `read` and `write`, a
 * public client for apps (authorization code with PKCE, token revocation so tokens carry `origin_jti`, refresh
 * token rotation) and a confidential client for machines (client credentials, `orders/read orders/write`).
 */
export class OrdersUserPool extends Construct implements ApiIdentity {
  readonly pool: cognito.UserPool;
  readonly publicClient: cognito.UserPoolClient;
  readonly machineClient: cognito.UserPoolClient;
  readonly domain: cognito.UserPoolDomain;
  readonly userPoolId: string;
  readonly clientIds: readonly string[];

  constructor(scope: Construct, id: string, settings: Settings) {
    super(scope, id);
    this.pool = new cognito.UserPool(this, "Pool", {
      signInAliases: { email: true },
      autoVerify: { email: true },
      selfSignUpEnabled: false,
      // Essentials: needed for refresh token rotation and access-token customisation.
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // Users are not re-creatable from the template: keep the pool if the stack is deleted by mistake.
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: false,
    });
    GROUPS.forEach(
      (group, index) => new cognito.CfnUserPoolGroup(this, `Group${index}`, { userPoolId: this.pool.userPoolId, groupName: group }),
    );

    const read = new cognito.ResourceServerScope({ scopeName: "read", scopeDescription: "Read every order" });
    const write = new cognito.ResourceServerScope({ scopeName: "write", scopeDescription: "Change the status of orders" });
    const server = this.pool.addResourceServer("Orders", {
      identifier: RESOURCE_SERVER,
      userPoolResourceServerName: "Orders API",
      scopes: [read, write],
    });
    const orderScopes = [cognito.OAuthScope.resourceServer(server, read), cognito.OAuthScope.resourceServer(server, write)];

    this.domain = this.pool.addDomain("Domain", {
      cognitoDomain: { domainPrefix: settings.domainPrefix ?? `orders-api-${Aws.ACCOUNT_ID}` },
    });

    const rotation = settings.refreshTokenRotationGraceSeconds;
    this.publicClient = this.pool.addClient("PublicClient", {
      generateSecret: false,
      // SRP is what the Amplify libraries sign in with. With rotation on, the CDK leaves REFRESH_TOKEN_AUTH out (Cognito
      // refuses it then): apps refresh with GetTokensFromRefreshToken or the token endpoint.
      authFlows: { userSrp: true, userPassword: settings.allowPasswordAuth },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        // No orders/* scope for people: `scope:orders/read` reads every order, so users get access through groups.
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: [...settings.callbackUrls],
        logoutUrls: [...settings.logoutUrls],
      },
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.minutes(settings.accessTokenMinutes),
      idTokenValidity: Duration.minutes(settings.idTokenMinutes),
      refreshTokenValidity: Duration.days(settings.refreshTokenDays),
      ...(rotation === null ? {} : { refreshTokenRotationGracePeriod: Duration.seconds(rotation) }),
    });
    this.machineClient = this.pool.addClient("MachineClient", {
      generateSecret: true,
      authFlows: {},
      oAuth: { flows: { clientCredentials: true }, scopes: orderScopes },
      enableTokenRevocation: true,
      accessTokenValidity: Duration.minutes(settings.accessTokenMinutes),
    });
    this.userPoolId = this.pool.userPoolId;
    this.clientIds = [this.publicClient.userPoolClientId, this.machineClient.userPoolClientId];

    new CfnOutput(scope, "UserPoolId", { value: this.pool.userPoolId });
    new CfnOutput(scope, "PublicClientId", { value: this.publicClient.userPoolClientId });
    new CfnOutput(scope, "MachineClientId", { value: this.machineClient.userPoolClientId });
    new CfnOutput(scope, "TokenEndpoint", { value: `${this.domain.baseUrl()}/oauth2/token` });
  }
}
