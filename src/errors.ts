// Every failure a user can cause or meet is one of these: a code callers can
// test for, and a message that names the problem in one line.

export type ErrorCode =
  | 'USAGE'
  | 'NO_REPO'
  | 'BAD_REPO'
  | 'REPO_EXISTS'
  | 'UNKNOWN_REV'
  | 'AMBIGUOUS_REV'
  | 'NOT_FOUND'
  | 'BAD_SOURCE'
  | 'UNSUPPORTED_FILE'
  | 'BAD_NAME'
  | 'MALFORMED_OBJECT'
  | 'CORRUPT_OBJECT'
  | 'MISSING_OBJECT'
  | 'NO_SPACE'
  | 'IO'
  | 'LOCKED'
  | 'FSCK_FAILED'
  | 'MOUNT'
  | 'CHECK_FAILED'
  | 'NETWORK'
  | 'BAD_SIGNATURE'
  // Failures at run time that are not usage mistakes (exit 1, as ostree and git use it):
  | 'EXISTS'
  | 'IS_DIRECTORY'
  | 'UNCHANGED'
  | 'UNSUPPORTED';

export class HacktreeError extends Error {
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HacktreeError';
  }
}

export class UsageError extends HacktreeError {
  constructor(message: string) { super('USAGE', message); }
}

export class NoRepoError extends HacktreeError {
  constructor(path: string, why: string) { super('NO_REPO', `no hacktree/ostree repository at ${path}: ${why}`); }
}

export class UnknownRevError extends HacktreeError {
  constructor(rev: string, why = 'no such ref, commit or prefix') { super('UNKNOWN_REV', `unknown revision '${rev}': ${why}`); }
}

export class MalformedObjectError extends HacktreeError {
  constructor(message: string) { super('MALFORMED_OBJECT', `malformed object: ${message}`); }
}

export class CorruptObjectError extends HacktreeError {
  constructor(readonly checksum: string, readonly objtype: string, detail: string) {
    super('CORRUPT_OBJECT', `corrupt ${objtype} object ${checksum}: ${detail}`);
  }
}

export class MissingObjectError extends HacktreeError {
  constructor(readonly checksum: string, readonly objtype: string) {
    super('MISSING_OBJECT', `missing ${objtype} object ${checksum}`);
  }
}

export class BadNameError extends HacktreeError {
  constructor(name: string, where: string) {
    super('BAD_NAME', `refusing tree entry ${JSON.stringify(name)} in ${where}: names must be valid UTF-8, not '.', '..', empty, or contain '/'`);
  }
}

/** Turns low-level errno errors into a HacktreeError with a one-line message naming the path. */
export function describeSystemError(err: unknown, what: string): HacktreeError {
  if (err instanceof HacktreeError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOSPC': case 'EDQUOT':
      return new HacktreeError('NO_SPACE', `${what}: no space left on device`, { cause: err });
    case 'ENOENT':
      return new HacktreeError('NOT_FOUND', `${what}: ${e.path ?? ''} does not exist`.replace(/:  /, ': '), { cause: err });
    case 'EACCES': case 'EPERM':
      return new HacktreeError('IO', `${what}: permission denied${e.path ? ` (${e.path})` : ''}`, { cause: err });
    case 'EROFS':
      return new HacktreeError('IO', `${what}: read-only file system${e.path ? ` (${e.path})` : ''}`, { cause: err });
    default:
      return new HacktreeError('IO', `${what}: ${e?.message ?? String(err)}`, { cause: err });
  }
}

/** An error as it crosses between threads: structured clone keeps neither the class nor an errno's fields. */
export interface ErrorRecord {
  message: string;
  /** Set for a HacktreeError. */
  hacktree?: ErrorCode;
  /** errno fields of a system error, so describeSystemError can still name the cause. */
  code?: string;
  path?: string;
  syscall?: string;
}

export function toErrorRecord(err: unknown): ErrorRecord {
  if (err instanceof HacktreeError) return { message: err.message, hacktree: err.code };
  const e = err as NodeJS.ErrnoException;
  return { message: e?.message ?? String(err), code: e?.code, path: e?.path, syscall: e?.syscall };
}

export function fromErrorRecord(r: ErrorRecord): Error {
  if (r.hacktree) return new HacktreeError(r.hacktree, r.message);
  return Object.assign(new Error(r.message), { code: r.code, path: r.path, syscall: r.syscall });
}
