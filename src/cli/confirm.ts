// The docker CLI's "Are you sure you want to continue? [y/N]" before a prune:
// only y or yes goes on; an empty answer or a closed stdin is a no.
import { createInterface } from "node:readline";

export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      rl.once("close", () => resolve(""));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
