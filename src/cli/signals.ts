// Stopping a command cleanly: Ctrl-C (SIGINT), `kill`/systemd/Docker/CI (SIGTERM) and a closed
// terminal (SIGHUP) all ask the same thing, and so does the death of the parent (npm killed alone:
// the command must not run on as an orphan). The first request lets the command save and record
// its work; a second one exits at once.
const EXIT_STATUS: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
/** How often the parent is looked for: an orphan notices within this time. */
const PARENT_POLL_MS = 500;
/** A second request sooner than this after the first is a copy of it. */
const REPEAT_MS = 1000;

/** Calls `stop` on the first stop request with what asked; a second request exits with 128 + its
 * signal's number. Returns what stops listening (a command called in process ends without exiting). */
export function onStopRequest(stop: (cause: string) => void): () => void {
  let requestedAt: number | null = null;
  const request = (cause: string, status: number) => {
    // The same signal often arrives twice at once: sent to the process group, npm forwards its own
    // copy. Only a request made after a pause is the user's second one.
    if (requestedAt !== null) {
      if (performance.now() - requestedAt > REPEAT_MS) process.exit(status);
      return;
    }
    requestedAt = performance.now();
    stop(cause);
  };
  const listeners = Object.entries(EXIT_STATUS).map(([signal, status]) => {
    const listener = () => request(signal, status);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    request('the parent process ended', EXIT_STATUS.SIGHUP);
  }, PARENT_POLL_MS).unref();
  return () => {
    clearInterval(watch);
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  };
}
