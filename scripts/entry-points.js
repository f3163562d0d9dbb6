'use strict';
// The package's entry points, read from package.json "exports" (the one list): each export that
// has a `require` and an `import` file, with the TypeScript source it is compiled from. Used by
// write-esm-entry.js (the ESM faces), docs.js (typedoc) and the test that imports each by name.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** @returns {{ name: string, require: string, import: string, source: string }[]} paths relative to the package root */
function entryPoints() {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  return Object.entries(pkg.exports)
    .filter(([, target]) => typeof target === 'object' && target.require && target.import)
    .map(([key, target]) => ({
      name: key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`,
      require: target.require,
      import: target.import,
      // ./dist/src/threshold/index.js <- src/threshold/index.ts
      source: target.require.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'),
    }));
}

module.exports = { ROOT, entryPoints };
