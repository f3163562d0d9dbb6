// Compiles the package (tsc, then the ESM faces) once per test run for the suites that use the
// built package as a user would get it (entry points, the packed tarball).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

let built = false;

/** Builds dist/ from the sources the first time it is called in this process. */
export function buildPackage(): void {
  if (built) return;
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'write-esm-entry.js')], { cwd: ROOT, stdio: 'pipe' });
  built = true;
}
