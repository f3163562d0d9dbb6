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
  /** Timestamps of one series went backwards (or repeated). */
  | 'ERR_TIMESTAMP_ORDER'
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
  | 'ERR_LISTENER';

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
