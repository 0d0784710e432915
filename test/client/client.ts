import { Client, fetchExchange, type OperationResult } from "@urql/core";

/**
 * The example client, configured as a browser frontend would configure urql: every request carries the
 * signed-in user's current Cognito token. `getToken` is asked per request because tokens expire and are
 * refreshed (Amplify's `fetchAuthSession()` would be the usual source); it returns null for a visitor.
 */
export function createApiClient(url: string, getToken: () => string | null): Client {
  return new Client({
    url,
    exchanges: [fetchExchange],
    // POST for queries too: Apollo Server's CSRF prevention refuses a GET without a preflight header.
    preferGetMethod: false,
    fetchOptions: (): RequestInit => {
      const token = getToken();
      return token ? { headers: { authorization: `Bearer ${token}` } } : {};
    },
  });
}

/** The typed data of a result, or a throw with the errors' codes (what a frontend's error boundary does). */
export function dataOf<Data>(result: OperationResult<Data, any>): Data {
  if (result.error || !result.data) {
    throw new Error(`request failed: ${result.error?.graphQLErrors.map((e) => e.extensions.code).join(", ") ?? "no data"}`);
  }
  return result.data;
}
