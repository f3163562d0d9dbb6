#!/usr/bin/env node
'use strict';
// Built code (npm ci runs `prepare`, which compiles to dist/). From a source checkout without a
// build, fall back to the TypeScript sources through tsx.
const path = require('node:path');
const fs = require('node:fs');
const built = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (fs.existsSync(built)) {
  require(built).main(process.argv);
} else {
  require('tsx/cjs');
  require(path.join(__dirname, '..', 'src', 'cli', 'main.ts')).main(process.argv);
}
