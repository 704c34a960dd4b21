// Test helpers of the loader's tests (test-only).
import { StackError } from "./errors.js";

/** The StackError fn throws (any other error is rethrown); fails the test when fn does not throw. */
export function stackErrorOf(fn: () => unknown): StackError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StackError) return err;
    throw err;
  }
  throw new Error("expected a StackError, but nothing was thrown");
}
