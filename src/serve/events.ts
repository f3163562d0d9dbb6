/**
 * Subscribing to a Detector's events (`detector.on(name, listener)` returns the unsubscribe).
 */
import type { Detector } from '../detector.js';

type Listener = (event: never) => void;

/** Subscribes `listener` to the detector's `name` events; returns the unsubscribe. */
export function subscribe(detector: Detector, name: 'batch' | 'anomaly' | 'swap' | 'drift' | 'error', listener: (event: any) => void): () => void {
  const d = detector as unknown as { on?: (name: string, listener: Listener) => () => void; onBatch?: (b: unknown) => void };
  if (typeof d.on === 'function') return d.on(name, listener as Listener);
  // Before the event seam lands: chain the batch shorthand (temporary; removed with the merge).
  if (name !== 'batch') return () => {};
  const previous = d.onBatch;
  let active = true;
  d.onBatch = (b) => {
    previous?.(b);
    if (active) listener(b);
  };
  return () => {
    active = false;
  };
}
