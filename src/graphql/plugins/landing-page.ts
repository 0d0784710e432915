import type { ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import type { DevIssuer } from "../../auth/index.js";
import type { Config } from "../../config.js";
import { PERSONAS } from "../../dev/personas.js";
import type { AppContext } from "../context.js";

const SANDBOX_DOCUMENT = `# Sandbox starts with alice's dev token in the shared Authorization header.
# Mint another persona's token with: npm run -s token -- sam
query Me {
  me { sub kind username groups scopes tokenUse expiresAt }
}

# Runs over WebSocket on the same URL; Sandbox sends the shared headers in connection_init.
# Place an order (placeOrder) in another tab to see it arrive. Staff follow every order with orderEvents.
subscription MyOrderEvents {
  myOrderEvents { kind occurredAt order { id status totalCents } }
}
`;
const TOKEN_PLACEHOLDER = "__DEV_BEARER_TOKEN__";

/**
 * Dev mode: Apollo Sandbox with the Authorization header filled with a fresh dev token on every page load
 * (tokens expire, the page should not). Sandbox runs subscriptions itself with graphql-ws on the endpoint's
 * `ws://` URL and sends its headers, the shared Authorization among them, as `connection_init`'s payload.
 * Production: no landing page unless GRAPHQL_SANDBOX=true.
 */
export function landingPagePlugin(config: Config, devIssuer?: DevIssuer | null): ApolloServerPlugin<AppContext> {
  if (!config.sandbox) return ApolloServerPluginLandingPageDisabled();
  if (!devIssuer) return ApolloServerPluginLandingPageLocalDefault({ embed: { runTelemetry: false }, footer: false });
  const inner = ApolloServerPluginLandingPageLocalDefault({
    document: SANDBOX_DOCUMENT,
    footer: false,
    embed: {
      runTelemetry: false,
      initialState: { sharedHeaders: { Authorization: `Bearer ${TOKEN_PLACEHOLDER}` } },
    },
  });
  return {
    async serverWillStart(service) {
      const listener = await inner.serverWillStart?.(service);
      const page = await listener?.renderLandingPage?.();
      if (!page) throw new Error("Apollo's landing page plugin rendered nothing");
      const template = typeof page.html === "string" ? page.html : await page.html();
      return {
        async renderLandingPage() {
          return { html: async () => template.replace(TOKEN_PLACEHOLDER, devIssuer.mint(PERSONAS.alice)) };
        },
      };
    },
  };
}
