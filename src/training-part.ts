/**
 * seismo's training part (TensorFlow.js and the classic baselines' libraries, ~95 MB) is an
 * optional dependency: a service that only detects can install without it (`npm install seismo
 * --omit=optional`). Everything that trains (`seismo train`, `demo`, `learn`, online kinds, the
 * fine-tuner) goes through here first, so that a missing package is one coded error that names
 * the install command, not a MODULE_NOT_FOUND from deep inside tfjs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeismoError } from './errors.js';
import { PACKAGE_ROOT } from './native.js';

/** The packages of the training part (package.json `optionalDependencies`). */
export const TRAINING_PACKAGES = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  'libsvm-js',
  'ml-pca',
] as const;

type Resolve = (name: string) => string;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defaultResolve: Resolve = (name) => require.resolve(name);
let resolve: Resolve = defaultResolve;

/**
 * Replaces how the training packages are looked up (tests simulate a missing package through it);
 * `undefined` restores Node's own resolution.
 * @internal
 */
export function setTrainingResolver(fn: Resolve | undefined): void {
  resolve = fn ?? defaultResolve;
}

/** The training packages that cannot be found from here. */
export function missingTrainingPackages(): string[] {
  return TRAINING_PACKAGES.filter((name) => {
    try {
      resolve(name);
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * Checks that the training part is installed.
 * @param what the command or feature that needs it, for the message (e.g. `seismo train`).
 * @throws SeismoError `ERR_TRAINING_UNAVAILABLE` naming the packages to install, pinned to the versions seismo was built with.
 */
export function requireTrainingPart(what: string): void {
  const missing = missingTrainingPackages();
  if (missing.length === 0) return;
  const pinned = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> }).optionalDependencies ?? {};
  const install = missing.map((name) => (pinned[name] ? `${name}@${pinned[name]}` : name)).join(' ');
  throw new SeismoError(
    'ERR_TRAINING_UNAVAILABLE',
    `${what} needs seismo's training part, which is not installed here (missing ${missing.join(', ')}; ` +
      `it is an optional dependency, left out by --omit=optional). Install it: npm install ${install}`,
    { missing },
  );
}

/** The training API (training/index.ts), after {@link requireTrainingPart}. */
export function loadTraining(what: string): typeof import('../training/index.js') {
  requireTrainingPart(what);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../training/index.js') as typeof import('../training/index.js');
}
