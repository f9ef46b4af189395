/**
 * Everything a benchmark creates (server processes, temporary databases) registers how to undo
 * it here, so a run that fails or is interrupted with Ctrl-C still leaves nothing behind.
 */

type Cleanup = () => Promise<void> | void;

const cleanups: Cleanup[] = [];

/** Registers an undo step; returns a function that runs it now and forgets it. */
export function onCleanup(cleanup: Cleanup): () => Promise<void> {
  cleanups.push(cleanup);
  return async () => {
    const index = cleanups.indexOf(cleanup);
    if (index === -1) return;
    cleanups.splice(index, 1);
    await cleanup();
  };
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop();
    try {
      await cleanup?.();
    } catch (error) {
      console.error("cleanup failed:", error);
    }
  }
}

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: cleaning up`);
    void runCleanups().finally(() => process.exit(130));
  });
}

/** Runs a scenario's main function, then the cleanups, and sets the exit code. */
export async function runScenario(main: () => Promise<boolean>): Promise<void> {
  let ok = false;
  try {
    ok = await main();
  } catch (error) {
    console.error(error);
  } finally {
    await runCleanups();
  }
  process.exit(ok ? 0 : 1);
}
