/**
 * Every error seismo throws on purpose is a {@link SeismoError} with a stable `code`, so callers
 * can branch on `err.code` instead of parsing messages. The message says what went wrong and
 * what to do about it.
 */
export type SeismoErrorCode =
  /** The native addon could not be loaded (no prebuild for this platform and no local build). */
  | 'ERR_NATIVE_LOAD'
  /** A ring buffer is full and its overflow policy is `reject`. Nothing was written. */
  | 'ERR_RING_OVERFLOW'
  /** A ring buffer or detector was used after `dispose()` / `close()`. */
  | 'ERR_DISPOSED'
  /** An array has the wrong length or shape (e.g. wrong channel count). */
  | 'ERR_BAD_SHAPE'
  /** A sample holds NaN or ±Infinity. */
  | 'ERR_NON_FINITE'
  /** A CSV file is malformed (missing header, non-numeric cell, ragged row). */
  | 'ERR_CSV_PARSE'
  /** A JSON input (labels windows, config, queue, answers) is not valid JSON or not of the expected shape. */
  | 'ERR_JSON_PARSE'
  /**
   * A file or folder cannot be read or written: it does not exist, is a folder where a file is
   * expected (or the reverse), or permission is denied. Nothing is wrong with its contents.
   */
  | 'ERR_IO'
  /**
   * The machine ran out of something (memory, disk space, file handles). Neither the input nor
   * the options are wrong: free the resource, or ask for less (smaller batches, fewer series).
   */
  | 'ERR_RESOURCE'
  /** Timestamps of one series went backwards (or repeated). */
  | 'ERR_TIMESTAMP_ORDER'
  /** A stream skipped samples (a time gap) and its gap policy is `error`. */
  | 'ERR_STREAM_GAP'
  /** A model directory or file does not exist. */
  | 'ERR_MODEL_NOT_FOUND'
  /** `model.onnx` or `model.json` cannot be parsed. */
  | 'ERR_MODEL_CORRUPT'
  /** `model.json` does not match the ONNX graph (channels, window, version). */
  | 'ERR_MODEL_MISMATCH'
  /** `model.json` has a format version this seismo cannot read. */
  | 'ERR_MODEL_VERSION'
  /** The requested execution provider cannot run here. */
  | 'ERR_PROVIDER_UNAVAILABLE'
  /** An option is out of range or of the wrong type. */
  | 'ERR_INVALID_OPTION'
  /** More distinct series than the detector was sized for. */
  | 'ERR_TOO_MANY_SERIES'
  /** Training could not run (too little data, diverged, unknown model kind). */
  | 'ERR_TRAINING'
  /**
   * The training part (TensorFlow.js and the baselines' libraries, optional dependencies) is not
   * installed; the message names the `npm install` that adds it.
   */
  | 'ERR_TRAINING_UNAVAILABLE'
  /** Inference failed inside onnxruntime or its worker thread. */
  | 'ERR_INFERENCE'
  /** Labels and scores cannot be evaluated together (no overlap, no positives). */
  | 'ERR_EVAL'
  /** `rollback()` was called with no older model version kept. */
  | 'ERR_NO_PREVIOUS_VERSION'
  /** An online update could not be made (fine-tuning failed, the new version failed its checks). */
  | 'ERR_LEARN'
  /** A label or label-queue request is invalid (unknown window, malformed queue file). */
  | 'ERR_LABEL'
  /** A detector event listener threw; the detector reported it and carried on (see `cause`). */
  | 'ERR_LISTENER'
  /** A stream entry cannot be decoded (missing or malformed fields); it goes to the dead-letter stream. */
  | 'ERR_BAD_ENTRY'
  /** The message broker failed or cannot be reached (Redis down, script refused, group missing). */
  | 'ERR_CONNECTOR'
  /** The CLI's command line could not be parsed (unknown command or option, missing required option); exit code 2. */
  | 'ERR_USAGE';

export class SeismoError extends Error {
  override readonly name = 'SeismoError';
  readonly code: SeismoErrorCode;
  /** Structured context for logs (file, row, series id, ...). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: SeismoErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/** True when `err` is a SeismoError, optionally with the given code. */
export function isSeismoError(err: unknown, code?: SeismoErrorCode): err is SeismoError {
  return err instanceof SeismoError && (code === undefined || err.code === code);
}

/** errno codes that mean the machine ran out of something, not that a path is wrong. */
const RESOURCE_ERRNO = new Set(['ENOMEM', 'ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE']);

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'not found',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files in this process',
  ENFILE: 'too many open files on this machine',
  ENOMEM: 'out of memory',
};

/**
 * Turns a failed file operation (Node's errno error) into a {@link SeismoError}: `ERR_IO` for a
 * path that is missing, of the wrong type or not permitted, `ERR_RESOURCE` for a full disk or
 * too many open files. A SeismoError passes through unchanged.
 * @param path the file or folder the operation was on.
 * @param op what was being done, for the message (`read`, `write`, `create folder`, ...).
 */
export function fileError(path: string, err: unknown, op = 'read'): SeismoError {
  if (err instanceof SeismoError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const what = (errno && ERRNO_TEXT[errno]) ?? String((err as Error)?.message ?? err);
  const code = errno && RESOURCE_ERRNO.has(errno) ? 'ERR_RESOURCE' : 'ERR_IO';
  return new SeismoError(code, `cannot ${op} ${path}: ${what}`, { file: path, errno }, { cause: err });
}

/**
 * When `err` says that memory ran out (a JavaScript allocation, onnxruntime's or the addon's),
 * the same as an `ERR_RESOURCE` SeismoError; otherwise undefined. Out of memory is reported as
 * what it is, never as a bad option or shape.
 * @param doing what was being done, for the message (e.g. `scoring 4096 windows`).
 */
export function resourceError(err: unknown, doing: string): SeismoError | undefined {
  if (err instanceof SeismoError) return err.code === 'ERR_RESOURCE' ? err : undefined;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const oom =
    errno === 'ENOMEM' ||
    (err instanceof RangeError && /allocation failed|invalid (typed )?array( buffer)? length|invalid string length/i.test(message)) ||
    /bad_alloc|out of memory|failed to allocate/i.test(message);
  if (!oom) return undefined;
  return new SeismoError('ERR_RESOURCE', `out of memory while ${doing} (${message.split('\n')[0]}); free memory or ask for less (smaller --batch-size, shorter input, fewer series)`, {}, { cause: err });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an Array';
  if (typeof value === 'object') return `a ${(value as object).constructor?.name ?? 'object'}`;
  return typeof value;
}

/**
 * Whether `value` is a list of numbers as {@link expectArrayLike} takes it (an Array or a typed
 * array). For a hot path that builds the message of `expectArrayLike` only when this is false.
 */
export function isArrayLike(value: unknown): value is ArrayLike<number> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

/**
 * Checks a public argument that must be a list of numbers (an Array or a typed array), so that
 * `null` or a number where a list belongs is an `ERR_BAD_SHAPE` naming the argument, not a
 * TypeError from deep inside.
 * @throws SeismoError `ERR_BAD_SHAPE`.
 */
export function expectArrayLike(value: unknown, what: string): asserts value is ArrayLike<number> {
  if (!isArrayLike(value)) throw new SeismoError('ERR_BAD_SHAPE', `${what} must be an array or a typed array of numbers, got ${describe(value)}`);
}

/**
 * Checks a public argument that must be a Float32Array (the frames of the hot path are handed
 * to the ring buffers and onnxruntime without a copy, so nothing else will do).
 * @throws SeismoError `ERR_BAD_SHAPE`, saying how to convert.
 */
export function expectFloat32Array(value: unknown, what: string): asserts value is Float32Array {
  if (!(value instanceof Float32Array)) {
    throw new SeismoError('ERR_BAD_SHAPE', `${what} must be a Float32Array, got ${describe(value)}${Array.isArray(value) ? ' (wrap it: Float32Array.from(values))' : ''}`);
  }
}
