#!/usr/bin/env node
// prebuildify drives node-gyp (`rebuild --target=... --arch=... --release`) and has no cmake-js
// backend. This stands in for node-gyp: it builds with cmake-js instead and leaves the addon in
// build/Release, where prebuildify looks for it. N-API builds do not depend on the Node target,
// so only the architecture and the build type are passed on.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const args = process.argv.slice(2);
const arch = args.find((a) => a.startsWith('--arch='));
const cmakeJs = path.join(__dirname, '..', 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const cmakeArgs = ['rebuild'];
if (arch) cmakeArgs.push('--arch', arch.slice('--arch='.length));
if (args.includes('--debug')) cmakeArgs.push('--debug');

const result = spawnSync(process.execPath, [cmakeJs, ...cmakeArgs], { stdio: 'inherit' });
process.exit(result.status ?? 1);
