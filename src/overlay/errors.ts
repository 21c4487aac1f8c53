// How the layer refuses an operation: an errno name in `code`, as node:fs
// reports its failures. The layer knows nothing of whoever serves it; the FUSE
// binding (like any caller that speaks errno) maps such an error as it is.

export type LayerErrno =
  | 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'EEXIST' | 'ENOTEMPTY' | 'ENAMETOOLONG'
  | 'EROFS' | 'EXDEV' | 'EINVAL' | 'ENODATA' | 'EPERM'
  | 'EOPNOTSUPP' | 'ENOSPC' | 'EFBIG' | 'EBADF' | 'EIO';

export class LayerError extends Error {
  private static readonly shared = new Map<LayerErrno, LayerError>();

  constructor(readonly code: LayerErrno) {
    super(code);
    this.name = 'LayerError';
  }

  /** One instance per code: lookups miss all the time, and a miss should not cost a stack trace. */
  static of(code: LayerErrno): LayerError {
    let e = LayerError.shared.get(code);
    if (!e) { e = new LayerError(code); LayerError.shared.set(code, e); }
    return e;
  }
}

/** True when `e` says "no such entry" (the layer's refusal, or the base's: see BaseTree.resolve). */
export function isAbsent(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Throws the refusal a rule decided on (rules.ts), if any. */
export function refuse(code: LayerErrno | null): void {
  if (code !== null) throw LayerError.of(code);
}
