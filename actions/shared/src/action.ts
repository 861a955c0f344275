// The one entry wrapper of every action: runs main() and turns any throw into core.setFailed, so a failed
// action always exits non-zero with one clear ::error:: line (the stack goes to the debug log).
import * as core from '@actions/core';

export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof Error) {
      if (error.stack) core.debug(error.stack);
      core.setFailed(error.message);
    } else {
      core.setFailed(String(error));
    }
  }
}
