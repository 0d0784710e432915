import type { Resolvers } from "../../__generated__/resolvers.js";
import { poolIdOfIssuer, type Principal } from "../../auth/index.js";
import { InvalidInputError } from "../../data/errors.js";
import type { AppContext } from "../context.js";
import type { RemoteSteps } from "../remote-calls.js";
import type { RevokeRequest } from "../../revocations/revoker.js";

/** The subject's own sessions: Cognito's sign-out can use the token's username and pool directly. */
const ownSessions = (principal: Principal): Pick<RevokeRequest, "sub" | "username" | "userPoolId" | "isUser" | "revokedBy"> => ({
  sub: principal.sub,
  username: principal.username,
  userPoolId: poolIdOfIssuer(principal.issuer),
  isUser: principal.kind === "USER",
  revokedBy: principal.sub,
});

function revokerOf(context: AppContext) {
  if (!context.revoker) throw new Error("Session revocation is not set up in this server (no revoker in the context)");
  return context.revoker;
}

/** `revokeSessions`' subject, or `null` when it is not one (the resolver refuses it). */
const subjectOf = (sub: unknown): string | null => {
  const subject = typeof sub === "string" ? sub.trim() : "";
  return subject === "" || subject.length > 200 ? null : subject;
};

// Whether sub is a person is unknown here: Cognito's sign-out looks the sub up and skips what is not a user.
const subjectRequest = (subject: string, context: AppContext): RevokeRequest => ({
  sub: subject,
  isUser: true,
  revokedBy: context.principal!.sub,
  requestId: context.requestId,
});
const ownRequest = (context: AppContext): RevokeRequest => ({ ...ownSessions(context.principal!), requestId: context.requestId });

/** Cognito's sign-out of a subject, made once per request and subject, before the operation's transaction opens. */
const cognitoSignOutOf = (context: AppContext, request: RevokeRequest) => {
  const call = () => revokerOf(context).signOutInCognito(request);
  return context.remote ? context.remote.call(`cognitoSignOut ${request.sub}`, call) : call();
};

/** The remote work of the revocation mutations (Cognito's sign-out), run before their transaction opens. */
export const sessionRemoteSteps: RemoteSteps<AppContext> = {
  signOutEverywhere: (_args, context) => cognitoSignOutOf(context, ownRequest(context)),
  revokeSessions: async (args, context) => {
    const subject = subjectOf(args.sub);
    if (subject !== null) await cognitoSignOutOf(context, subjectRequest(subject, context));
  },
};

export const sessionResolvers: Resolvers = {
  Mutation: {
    signOutEverywhere: async (_parent, _args, context) => {
      const request = ownRequest(context);
      const cognitoSignedOut = await cognitoSignOutOf(context, request);
      return revokerOf(context).revoke(context.db, { ...request, cognitoSignedOut }, context.afterCommit);
    },
    signOut: (_parent, _args, context) => {
      const principal = context.principal!;
      if (principal.sessionId === null) {
        throw new InvalidInputError(
          "This token has no session id (origin_jti); use signOutEverywhere to revoke all of its subject's tokens",
          "sessionId",
        );
      }
      // One session: Cognito is not asked (AdminUserGlobalSignOut ends every session of the user).
      return revokerOf(context).revoke(
        context.db,
        { ...ownRequest(context), sessionId: principal.sessionId, sessionSignedInAt: principal.authTime, cognitoSignedOut: false },
        context.afterCommit,
      );
    },
    revokeSessions: async (_parent, { sub }, context) => {
      const subject = subjectOf(sub);
      if (subject === null) throw new InvalidInputError("sub must be a subject id of 1 to 200 characters", "sub");
      const request = subjectRequest(subject, context);
      const cognitoSignedOut = await cognitoSignOutOf(context, request);
      return revokerOf(context).revoke(context.db, { ...request, cognitoSignedOut }, context.afterCommit);
    },
  },
};
