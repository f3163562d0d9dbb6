/**
 * The server's HTTP conventions in one place: the status of each error code, the error body
 * `{error: {code, message, ...}}`, the ingestion body formats, JSON without NaN, and option checks.
 */
import type { FastifyReply } from 'fastify';
import { SeismoError } from '../errors.js';

/** Body limit of every route but ingestion, bytes. */
export const SMALL_BODY = 64 * 1024;

/** HTTP status of a coded error. */
export function statusOf(code: string): number {
  switch (code) {
    case 'ERR_RING_OVERFLOW':
      return 429;
    case 'ERR_NO_PREVIOUS_VERSION':
    case 'ERR_DISPOSED':
      return 409;
    case 'ERR_NOT_FOUND':
    case 'ERR_MODEL_NOT_FOUND':
      return 404;
    case 'ERR_INFERENCE':
    case 'ERR_LEARN':
    case 'ERR_IO':
    case 'ERR_RESOURCE':
      return 500;
    default:
      return 400;
  }
}

/** Answers `status` with the error body `{error: {code, message, ...details}}`. */
export function sendError(reply: FastifyReply, status: number, code: string, message: string, details: Record<string, unknown> = {}): FastifyReply {
  return reply.code(status).send({ error: { code, message, ...details } });
}

/** The ingestion body format a Content-Type names. */
export function formatOf(contentType: string | undefined): string {
  const type = (contentType ?? '').split(';')[0]!.trim();
  return type === 'application/octet-stream' ? 'binary' : type === 'application/json' ? 'json' : 'csv';
}

/** @throws SeismoError `ERR_INVALID_OPTION` naming the option unless `v` is a positive integer. */
export function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new SeismoError('ERR_INVALID_OPTION', `${name} must be a positive integer, got ${v}`);
  return v;
}

/** A number for JSON: null where not finite. */
export function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** NaN and Infinity are not JSON. */
export function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

/** Samples a refused body held (for the rejected-samples counter), estimated without parsing it again. */
export function sampleCount(body: unknown, format: string, channels: number): number {
  if (format === 'binary' && Buffer.isBuffer(body)) return Math.floor(body.byteLength / (8 + 4 * channels));
  if (format === 'json' && Array.isArray(body)) return body.length;
  if (typeof body === 'string') return Math.max(0, body.split('\n').filter((l) => l.trim() !== '').length - 1);
  return 0;
}
