import { cognitoCallGuard, type CognitoCallGuard } from "./cognito-calls.js";
import { regionOfPoolId } from "./user-attributes.js";

/**
 * Cognito's own sign-out for a revoked subject: `AdminUserGlobalSignOut` ends every refresh token of the user, so
 * no new tokens are minted from their sessions (access tokens already issued stay valid in Cognito's eyes until
 * they expire: that is what the API's own revocation list is for).
 * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminUserGlobalSignOut.html
 *
 * The AWS SDK is configured by its standard settings (`AWS_REGION`, `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`,
 * the credential chain); the call is signed with the server's own credentials, which need
 * `cognito-idp:AdminUserGlobalSignOut` (and `cognito-idp:ListUsers` to find a user by `sub`).
 */
export interface CognitoSignOut {
  /**
   * Signs `user` out in its pool: by `username` when it is known (the caller's own token carries it), otherwise the
   * user whose `sub` attribute matches, looked up with `ListUsers` in each of `userPoolIds`. Resolves `true` when a
   * user was signed out, `false` when no user of those pools has that `sub` (a machine client, another pool).
   * Throws on any other failure (Cognito unreachable, access denied, `CognitoTimeoutError`, `CognitoCircuitOpenError`).
   */
  signOut(user: { readonly sub: string; readonly username?: string | null; readonly userPoolId?: string }): Promise<boolean>;
}

export interface CognitoSignOutOptions {
  /** The pools to look a `sub` up in when the pool is not given. */
  readonly userPoolIds: readonly string[];
  /** The deadline and circuit breaker of every call (`cognitoCallGuard`). Default: a guard of its own with its defaults. */
  readonly guard?: CognitoCallGuard;
}

/** `AdminUserGlobalSignOut` through the AWS SDK v3, loaded on first use (it is large). */
export function cognitoSignOut(options: CognitoSignOutOptions): CognitoSignOut {
  const guard = options.guard ?? cognitoCallGuard();
  type Sdk = typeof import("@aws-sdk/client-cognito-identity-provider");
  let sdk: Promise<Sdk> | undefined;
  const clients = new Map<string, InstanceType<Sdk["CognitoIdentityProviderClient"]>>();
  const clientFor = (userPoolId: string, { CognitoIdentityProviderClient }: Sdk) => {
    // The region is the pool id's prefix (`us-east-1_AbC`); emulators with other ids fall back to AWS_REGION.
    const region = regionOfPoolId(userPoolId);
    let client = clients.get(region ?? "");
    if (!client) {
      // One retry, within the guard's deadline (its signal aborts whatever attempt is in progress).
      client = new CognitoIdentityProviderClient({ ...(region ? { region } : {}), maxAttempts: 2 });
      clients.set(region ?? "", client);
    }
    return client;
  };

  return {
    async signOut(user) {
      const loaded = await (sdk ??= import("@aws-sdk/client-cognito-identity-provider"));
      const pools = user.userPoolId ? [user.userPoolId] : options.userPoolIds;
      for (const userPoolId of pools) {
        const client = clientFor(userPoolId, loaded);
        let username = user.username ?? null;
        if (username === null) {
          // ListUsers' filter syntax: https://docs.aws.amazon.com/cognito/latest/developerguide/how-to-manage-user-accounts.html
          const filter = `sub = ${JSON.stringify(user.sub)}`;
          const listed = await guard.run("ListUsers", (abortSignal) =>
            client.send(new loaded.ListUsersCommand({ UserPoolId: userPoolId, Filter: filter, Limit: 1 }), { abortSignal }),
          );
          username = listed.Users?.[0]?.Username ?? null;
          if (username === null) continue;
        }
        await guard.run("AdminUserGlobalSignOut", (abortSignal) =>
          client.send(new loaded.AdminUserGlobalSignOutCommand({ UserPoolId: userPoolId, Username: username }), { abortSignal }),
        );
        return true;
      }
      return false;
    },
  };
}
