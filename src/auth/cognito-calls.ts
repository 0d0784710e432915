import {
  BrokenCircuitError,
  CircuitState,
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhen,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
} from "cockatiel";

/**
 * Every call to Cognito's API (`GetUser`, `ListUsers`, `AdminUserGlobalSignOut`) goes through a guard: a deadline
 * for the whole call (the SDK's own retry included) and a circuit breaker that stops calling Cognito for a while
 * after repeated failures, so a slow or failing Cognito costs each request at most the deadline, and then nothing.
 * Built on cockatiel's timeout and circuit-breaker policies.
 */

/** How one guarded call ended: answered, failed, ran past its deadline, or not made because the circuit is open. */
export type CognitoCallOutcome = "ok" | "failed" | "timeout" | "short_circuited";

/** The breaker's state: `closed` (calls go through), `open` (none do), `half_open` (one trial call does). */
export type CognitoCircuitState = "closed" | "open" | "half_open";

/** A call ran past `CognitoCallGuardOptions.timeoutMs`; its request was aborted. */
export class CognitoTimeoutError extends Error {
  override readonly name = "CognitoTimeoutError";
}

/** The circuit is open after repeated failures: the call was not made. */
export class CognitoCircuitOpenError extends Error {
  override readonly name = "CognitoCircuitOpenError";
}

export interface CognitoCallGuardOptions {
  /** Milliseconds one call may take, the SDK's retries included; then its request is aborted. Default 3000. */
  readonly timeoutMs?: number;
  /** Consecutive failed calls (timeouts, network errors, 5xx, throttling) that open the circuit. Default 5. */
  readonly breakerFailures?: number;
  /** Milliseconds the circuit stays open before one trial call is let through. Default 30000. */
  readonly breakerOpenMs?: number;
  /** Told how every call ended (metrics, logs): the API operation, the outcome and the milliseconds it took. */
  readonly onOutcome?: (operation: string, outcome: CognitoCallOutcome, durationMs: number) => void;
  /** Told when the circuit changes state (a `warn` line when it opens). */
  readonly onCircuitChange?: (state: CognitoCircuitState) => void;
}

export interface CognitoCallGuard {
  /**
   * Runs `call` (one Cognito API operation named `operation`) with a signal that aborts at the deadline. Resolves
   * with its answer; rejects with `CognitoTimeoutError`, `CognitoCircuitOpenError`, or the call's own error.
   */
  run<T>(operation: string, call: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** The breaker's state now. */
  state(): CognitoCircuitState;
}

// Client faults that say nothing about Cognito's health (a revoked token, an unknown user, a missing permission)
// do not count toward opening the circuit; throttling does, since it is Cognito telling us to back off.
const THROTTLING = new Set(["TooManyRequestsException", "ThrottlingException", "LimitExceededException"]);

/** Whether `error` says Cognito is slow, unreachable or failing, rather than refusing this one request. */
export function isCognitoFailure(error: unknown): boolean {
  const { $fault, name } = (error ?? {}) as { $fault?: unknown; name?: unknown };
  return $fault !== "client" || (typeof name === "string" && THROTTLING.has(name));
}

const STATES: Record<CircuitState, CognitoCircuitState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "open",
};

/** Builds a guard; one per kind of call, so that sign-out failures do not stop email lookups and the reverse. */
export function cognitoCallGuard(options: CognitoCallGuardOptions = {}): CognitoCallGuard {
  const timeoutMs = options.timeoutMs ?? 3000;
  // Aggressive: the caller gets its answer at the deadline even if the SDK ignored the abort.
  const deadline = timeout(timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: true });
  const breaker = circuitBreaker(
    handleWhen((error) => error instanceof TaskCancelledError || isCognitoFailure(error)),
    {
      halfOpenAfter: options.breakerOpenMs ?? 30_000,
      breaker: new ConsecutiveBreaker(options.breakerFailures ?? 5),
    },
  );
  breaker.onStateChange((state) => options.onCircuitChange?.(STATES[state]));
  const policy = wrap(breaker, deadline);
  return {
    async run(operation, call) {
      const started = performance.now();
      const report = (outcome: CognitoCallOutcome) => options.onOutcome?.(operation, outcome, performance.now() - started);
      try {
        const answer = await policy.execute(({ signal }) => call(signal));
        report("ok");
        return answer;
      } catch (error) {
        if (error instanceof BrokenCircuitError) {
          report("short_circuited");
          throw new CognitoCircuitOpenError(`Cognito ${operation} not called: the circuit is open after repeated failures`);
        }
        if (error instanceof TaskCancelledError) {
          report("timeout");
          throw new CognitoTimeoutError(`Cognito ${operation} did not answer within ${timeoutMs} ms`);
        }
        report("failed");
        throw error;
      }
    },
    state: () => STATES[breaker.state],
  };
}
