/**
 * The Detector's event seam: typed listeners per event, in subscription order. Everything that
 * watches a detector (learner, score tables, servers, connectors) subscribes here; nothing
 * replaces anyone else's listener. A listener that throws is reported as an `error` event and
 * never reaches the pipeline.
 */
import { isSeismoError, SeismoError } from '../errors.js';
import type { DetectorEventName, DetectorEvents } from './types.js';

type Listeners = { [K in DetectorEventName]: DetectorEvents[K][] };

export class DetectorEmitter {
  /**
   * Listeners per event. Copy on write: `on` and its unsubscribe replace the array, so `emit`
   * iterates a stable array without copying it (a listener may unsubscribe while it runs).
   */
  private readonly listeners: Listeners = { batch: [], anomaly: [], swap: [], drift: [], error: [] };

  /** See {@link Detector.on}. */
  on<K extends DetectorEventName>(name: K, listener: DetectorEvents[K]): () => void {
    const list = this.listeners[name] as DetectorEvents[K][] | undefined;
    if (!Object.hasOwn(this.listeners, name) || !list) {
      throw new SeismoError('ERR_INVALID_OPTION', `unknown detector event '${String(name)}'; events are ${Object.keys(this.listeners).join(', ')}`);
    }
    if (typeof listener !== 'function') throw new SeismoError('ERR_INVALID_OPTION', `the listener of '${name}' must be a function, got ${typeof listener}`);
    (this.listeners[name] as DetectorEvents[K][]) = [...list, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const now = this.listeners[name] as DetectorEvents[K][];
      const at = now.indexOf(listener);
      if (at >= 0) (this.listeners[name] as DetectorEvents[K][]) = [...now.slice(0, at), ...now.slice(at + 1)];
    };
  }

  /** Whether anything listens to `name` (lets the hot path skip building an event nobody reads). */
  listening(name: DetectorEventName): boolean {
    return this.listeners[name].length > 0;
  }

  /**
   * Calls the listeners of `name` in subscription order. A listener that throws is reported as an
   * `error` event (`ERR_LISTENER`) and the rest still run. An `ERR_LISTENER` nobody listens to, or
   * an `error` listener that throws, becomes a process warning rather than vanishing.
   */
  emit<K extends DetectorEventName>(name: K, ...args: Parameters<DetectorEvents[K]>): void {
    const list = this.listeners[name] as ((...a: Parameters<DetectorEvents[K]>) => void)[];
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(...args);
      } catch (err) {
        if (name === 'error') warn(err);
        else this.emit('error', listenerError(name, err));
      }
    }
    if (name === 'error' && list.length === 0 && isSeismoError(args[0], 'ERR_LISTENER')) warn(args[0]);
  }
}

/** A listener's exception as the `error` event reports it. */
function listenerError(event: DetectorEventName, err: unknown): SeismoError {
  const message = err instanceof Error ? err.message : String(err);
  return new SeismoError('ERR_LISTENER', `a '${event}' listener threw: ${message}; the detector carried on (fix the listener)`, { event }, { cause: err });
}

function warn(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: isSeismoError(err) ? err.code : 'ERR_LISTENER' });
}
