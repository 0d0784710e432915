import type { Resolvers } from "../../__generated__/resolvers.js";
import { poolIdOfIssuer, type Principal } from "../../auth/index.js";
import { InvalidInputError } from "../../data/errors.js";
import type { AppContext } from "../context.js";
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

export const sessionResolvers: Resolvers = {
  Mutation: {
    signOutEverywhere: (_parent, _args, context) =>
      revokerOf(context).revoke(context.db, { ...ownSessions(context.principal!), requestId: context.requestId }, context.afterCommit),
    signOut: (_parent, _args, context) => {
      const principal = context.principal!;
      if (principal.sessionId === null) {
        throw new InvalidInputError("This token has no session id (origin_jti); use signOutEverywhere to revoke all of its subject's tokens", "sessionId");
      }
      return revokerOf(context).revoke(context.db, { ...ownSessions(principal), sessionId: principal.sessionId, requestId: context.requestId }, context.afterCommit);
    },
    revokeSessions: (_parent, { sub }, context) => {
      const subject = sub.trim();
      if (subject === "" || subject.length > 200) throw new InvalidInputError("sub must be a subject id of 1 to 200 characters", "sub");
      // Whether sub is a person is unknown here: Cognito's sign-out looks the sub up and skips what is not a user.
      return revokerOf(context).revoke(context.db, { sub: subject, isUser: true, revokedBy: context.principal!.sub, requestId: context.requestId }, context.afterCommit);
    },
  },
};
