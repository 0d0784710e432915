/**
 * Input the data layer refuses (unknown product, quantity out of range, a transition that does not exist).
 * Thrown inside the transaction, so nothing is written; the GraphQL layer answers it as BAD_USER_INPUT.
 */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
  constructor(
    message: string,
    /** The input field at fault, when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** PostgreSQL's unique_violation. */
export const isUniqueViolation = (error: unknown, constraint?: string): boolean =>
  typeof error === "object" &&
  error !== null &&
  (error as { code?: string }).code === "23505" &&
  (constraint === undefined || String((error as { constraint?: string }).constraint ?? (error as Error).message).includes(constraint));
