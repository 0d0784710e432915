import type { Principal } from "../../src/auth/index.js";

/** A verified user for pure-function tests; override what the test is about. */
export const principal = (overrides: Partial<Principal> = {}): Principal => ({
  sub: "sub-1",
  kind: "USER",
  username: "u",
  email: null,
  emailVerified: false,
  groups: [],
  scopes: [],
  tokenUse: "access",
  clientId: "client-1",
  issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1",
  expiresAt: new Date(Date.now() + 3_600_000),
  tokenId: null,
  sessionId: null,
  authTime: new Date(Date.now() - 60_000),
  customClaims: {},
  ...overrides,
});
