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
