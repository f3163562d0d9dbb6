/**
 * The partitioning contract shared by every producer and consumer, in any language: a series
 * belongs to partition `fnv1a32(utf8(seriesId)) mod N`, and partition p of input `<in>` is the
 * stream `<in>:<p>`. One owner per partition at a time keeps each series' windows in order.
 */
import { SeismoError } from '../errors.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** FNV-1a, 32 bit, over the UTF-8 bytes of `text`; an unsigned 32-bit integer. */
export function fnv1a32(text: string): number {
  const bytes = encoder.encode(text);
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    // Math.imul keeps the multiplication in 32 bits, as C's uint32_t would.
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** The partition (0 .. partitions-1) that owns a series. */
export function partitionOf(seriesId: string, partitions: number): number {
  checkPartitions(partitions);
  return fnv1a32(seriesId) % partitions;
}

/** The stream name of partition `p` of input `stream`: `<stream>:<p>`. */
export function partitionStream(stream: string, p: number): string {
  return `${stream}:${p}`;
}

/** @throws SeismoError `ERR_INVALID_OPTION` unless `partitions` is an integer in 1 .. 4096. */
export function checkPartitions(partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 4096) {
    throw new SeismoError('ERR_INVALID_OPTION', `partitions must be an integer from 1 to 4096, got ${String(partitions)}`);
  }
}
