/**
 * Picks the TensorFlow.js backend that trains, at run time.
 *
 * The native backends (`@tensorflow/tfjs-node-gpu`, `@tensorflow/tfjs-node`) download
 * libtensorflow at install time and are missing on offline machines, so they are optional and
 * tried by `require` inside try/catch; wasm (single-threaded in Node, ~4x faster than cpu on the
 * LSTM-AE) comes next, and the pure-JS cpu backend is the last resort that always works.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SeismoError } from '../src/errors';

/** One backend candidate that {@link initBackend} tried, and why it was skipped. */
export interface BackendAttempt {
  /** Candidate name: `tfjs-node-gpu`, `tfjs-node`, `wasm` or `cpu`. */
  name: string;
  /** Why it could not be used; absent for the one that was chosen. */
  error?: string;
}

/** What {@link initBackend} chose. */
export interface BackendChoice {
  /** The tfjs backend name now active (`tensorflow`, `wasm`, `cpu`). */
  backend: string;
  /** Every candidate tried, in order, the chosen one last. */
  tried: BackendAttempt[];
}

interface Candidate {
  /** Candidate name as the caller may ask for it. */
  name: string;
  /** Name under which the package registers its backend with tfjs-core. */
  backendName: string;
  /** Loads the package (registers the backend); throws when it is not installed or broken. */
  load(): void;
}

const CANDIDATES: readonly Candidate[] = [
  // Both native packages register the backend `tensorflow` on require; the GPU one first,
  // because where it installs at all it is the fastest by far.
  { name: 'tfjs-node-gpu', backendName: 'tensorflow', load: () => requireOptional('@tensorflow/tfjs-node-gpu') },
  { name: 'tfjs-node', backendName: 'tensorflow', load: () => requireOptional('@tensorflow/tfjs-node') },
  { name: 'wasm', backendName: 'wasm', load: loadWasm },
  { name: 'cpu', backendName: 'cpu', load: () => require('@tensorflow/tfjs-backend-cpu') },
];

/** Aliases accepted for `preferred`, so that a tfjs backend name works as well as a package name. */
const ALIASES: Readonly<Record<string, string>> = {
  tensorflow: 'tfjs-node',
  'tfjs-node-gpu': 'tfjs-node-gpu',
  'tfjs-node': 'tfjs-node',
  gpu: 'tfjs-node-gpu',
  wasm: 'wasm',
  cpu: 'cpu',
};

function requireOptional(id: string): void {
  // A plain `require` with a variable id keeps bundlers and tsc from insisting that the
  // package exists; that it may not is the point.
  const req: NodeJS.Require = require;
  req(id);
}

function loadWasm(): void {
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  // In Node the Emscripten loader reads the .wasm binaries with fs from a directory prefix; the
  // default prefix is relative to the caller's cwd, which breaks as soon as seismo runs from
  // another directory, so point it at the package's own dist folder.
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  wasm.setWasmPaths(path.join(dist, 'dist') + path.sep);
}

let current: Promise<BackendChoice> | undefined;
let currentPreferred: string | undefined;

/**
 * Selects and initialises the fastest tfjs backend that loads here.
 *
 * Tries, in order: `tfjs-node-gpu`, `tfjs-node`, `wasm`, `cpu`; `preferred` (a candidate name or
 * tfjs backend name) is tried first, and the usual order follows if it fails, so a run never dies
 * because a preferred backend is missing; the returned `tried` list says what happened.
 * Idempotent: a second call with the same (or no) preference returns the first call's result.
 *
 * @param preferred candidate to try first: `tfjs-node-gpu`, `tfjs-node` (or `tensorflow`), `wasm`, `cpu`.
 * @returns the active backend name and every attempt with its error.
 * @throws SeismoError `ERR_INVALID_OPTION` for an unknown `preferred`; `ERR_TRAINING` if nothing loads.
 */
export function initBackend(preferred?: string): Promise<BackendChoice> {
  if (preferred !== undefined && !(preferred in ALIASES)) {
    return Promise.reject(
      new SeismoError('ERR_INVALID_OPTION', `Unknown tfjs backend "${preferred}". Use one of: ${Object.keys(ALIASES).join(', ')}.`, {
        preferred,
      }),
    );
  }
  const wanted = preferred === undefined ? undefined : ALIASES[preferred];
  if (current && (wanted === undefined || wanted === currentPreferred)) return current;
  currentPreferred = wanted;
  current = select(wanted);
  // A failed selection must not stick: the next call should try again.
  current.catch(() => {
    current = undefined;
  });
  return current;
}

async function select(wanted: string | undefined): Promise<BackendChoice> {
  const order = wanted === undefined ? [...CANDIDATES] : [...CANDIDATES].sort((a, b) => Number(b.name === wanted) - Number(a.name === wanted));
  const tried: BackendAttempt[] = [];
  for (const candidate of order) {
    const before = processHandlers();
    try {
      candidate.load();
      // setBackend resolves false (rather than throwing) when the backend registered but failed to
      // initialise, e.g. a .wasm file that cannot be read.
      const ok = await tf.setBackend(candidate.backendName);
      if (!ok) throw new Error(`tf.setBackend('${candidate.backendName}') returned false`);
      await tf.ready();
      dropNewHandlers(before);
      tried.push({ name: candidate.name });
      return { backend: tf.getBackend(), tried };
    } catch (err) {
      dropNewHandlers(before);
      tried.push({ name: candidate.name, error: firstLine(err) });
    }
  }
  throw new SeismoError('ERR_TRAINING', `No TensorFlow.js backend could be initialised: ${tried.map((t) => `${t.name} (${t.error})`).join('; ')}.`, {
    tried,
  });
}

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
type HandlerSnapshot = Record<(typeof PROCESS_EVENTS)[number], unknown[]>;

function processHandlers(): HandlerSnapshot {
  return { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
}

/**
 * The Emscripten glue of tfjs-backend-wasm installs process-wide `uncaughtException` and
 * `unhandledRejection` handlers that rethrow. They change nothing about whether the process
 * dies, but every later crash is then reported at a 100 kB minified line of that glue instead
 * of its own stack, and they fight mocha's and the CLI's own handlers. A library must not own
 * process-wide handlers, so whatever a backend added is removed again.
 */
function dropNewHandlers(before: HandlerSnapshot): void {
  // Through the EventEmitter base type: Process's per-event overloads do not take a union event.
  const emitter: NodeJS.EventEmitter = process;
  for (const event of PROCESS_EVENTS) {
    for (const listener of emitter.listeners(event) as ((...args: unknown[]) => void)[]) {
      if (!before[event].includes(listener)) emitter.removeListener(event, listener);
    }
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n', 1)[0] ?? text;
}
