/**
 * The dashboard's files, read once when the server mounts: ours from `web/serve/`, uPlot from its
 * package (no build step).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeismoError } from '../errors.js';
import { PACKAGE_ROOT } from '../native.js';

/** One file of the page, with its Content-Type. */
export interface Asset {
  type: string;
  body: Buffer;
}

/** The page's scripts, in the order index.html loads them. */
const SCRIPTS = ['common.js', 'live.js', 'questions.js', 'versions.js', 'evaluation.js', 'app.js'];

/**
 * The page's files by route.
 * @throws SeismoError `ERR_IO` when a file is missing from the package.
 */
export function readPage(): Record<string, Asset> {
  const web = path.join(PACKAGE_ROOT, 'web', 'serve');
  const uplot = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const files: Record<string, [string, string]> = {
    '/': [path.join(web, 'index.html'), 'text/html; charset=utf-8'],
    ...Object.fromEntries(SCRIPTS.map((name) => [`/${name}`, [path.join(web, name), 'text/javascript; charset=utf-8']])),
    '/style.css': [path.join(web, 'style.css'), 'text/css; charset=utf-8'],
    '/vendor/uPlot.iife.min.js': [path.join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    '/vendor/uPlot.min.css': [path.join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8'],
  };
  const out: Record<string, Asset> = {};
  for (const [route, [file, type]] of Object.entries(files)) {
    try {
      out[route] = { type, body: fs.readFileSync(file) };
    } catch (cause) {
      throw new SeismoError('ERR_IO', `the page's file ${file} is missing from the seismo package (reinstall it)`, { file }, { cause });
    }
  }
  return out;
}
