// Failures a person can fix (a bad flag, a damaged file, a missing driver), as opposed to bugs: each
// says what went wrong and what to do. The command line prints them as one or two lines, without a
// stack trace (src/cli/common.ts); the page shows the message as it is. Browser-safe: no Node imports.

export class UserError extends Error {
  override readonly name = 'UserError';

  /** `what` went wrong; `fix` is what to do about it. The message reads "<what>; <fix>". */
  constructor(
    readonly what: string,
    readonly fix: string,
    options?: { cause?: unknown; exitCode?: number },
  ) {
    super(`${what}; ${fix}`, { cause: options?.cause });
    this.exitCode = options?.exitCode ?? 1;
  }

  /** The process's exit status when this ends a command: 2 for usage errors, 1 otherwise. */
  readonly exitCode: number;
}

/** A bad command line: unknown flag, missing or malformed value. Exits with status 2. */
export class UsageError extends UserError {
  constructor(what: string, fix: string) {
    super(what, fix, { exitCode: 2 });
  }
}
