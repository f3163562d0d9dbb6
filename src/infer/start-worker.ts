import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on one of seismo's own modules. Built code (`.js`) loads directly.
 * Under tsx (tests, `npm run` from source), a `.ts` worker file gets tsx's CommonJS hook first:
 * Node 20 does not hand `--import tsx` loader hooks to worker threads.
 */
export function startWorker(file: string, options: WorkerOptions = {}): Worker {
  if (!file.endsWith('.ts')) return new Worker(file, options);
  const bootstrap = `require('tsx/cjs'); require(${JSON.stringify(file)});`;
  return new Worker(bootstrap, { ...options, eval: true });
}
