/**
 * The Lambda entry (bundled by `npm run build:lambda`): the handlers of `src/lambda/`, which build the product
 * with the composition root (`src/app.ts`) once per cold start.
 */
export {
  albHandler,
  handler,
  LAMBDA_REVOCATION_MAX_AGE_MS,
  lambdaInstance,
  sourcesOfAlbEvent,
  sourcesOfHttpApiEvent,
} from "./lambda/index.js";
