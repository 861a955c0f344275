// The one entry wrapper of every action: runs main() and turns any throw into core.setFailed, so a failed
// action always exits non-zero with one clear ::error:: line. The stack goes to the debug log, mapped to the
// src/*.ts lines, and only when step debug logging is on (the runner shows ::debug:: lines only then): the
// source-map support beside the bundle is loaded at that moment, so no other run parses the map.
import * as core from '@actions/core';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The file build-actions.mjs puts beside each bundle: installs source-map support when required. */
export const SOURCE_MAP_SUPPORT = 'sourcemap-register.cjs';

/**
 * Installs the source-map support that sits beside the running bundle, if any. V8 formats a stack when it
 * is first read, so errors thrown before this call are mapped too.
 */
function loadSourceMapSupport(entry: string | undefined = process.argv[1]): void {
  if (!entry) return;
  const register = join(dirname(entry), SOURCE_MAP_SUPPORT);
  if (!existsSync(register)) return;
  try {
    createRequire(entry)(register);
  } catch {
    // An unmapped stack still names the bundle's lines; not worth failing the report for.
  }
}

export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof Error) {
      if (core.isDebug()) {
        loadSourceMapSupport();
        if (error.stack) core.debug(error.stack);
      }
      core.setFailed(error.message);
    } else {
      core.setFailed(String(error));
    }
  }
}
