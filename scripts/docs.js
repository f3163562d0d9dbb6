#!/usr/bin/env node
// API reference with typedoc, one module per package entry point (read from package.json
// "exports", see entry-points.js). Warnings fail the run: a public signature that names an
// unexported type, or a broken {@link}, is a defect of the public API.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { ROOT, entryPoints } = require('./entry-points.js');

const args = [
  ...entryPoints().flatMap((e) => ['--entryPoints', e.source]),
  '--tsconfig', 'tsconfig.build.json',
  '--out', 'docs/api',
  '--excludePrivate',
  '--excludeInternal',
  '--readme', 'README.md',
  '--treatWarningsAsErrors',
  ...process.argv.slice(2),
];
const typedoc = path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
const result = spawnSync(process.execPath, [typedoc, ...args], { cwd: ROOT, stdio: 'inherit' });
process.exit(result.status ?? 1);
