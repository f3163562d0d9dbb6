// Writes docs/config.md from the kinds' settings schemas (training/config-docs.ts).
import fs from 'node:fs';
import path from 'node:path';
import { configReference } from '../training/config-docs';

const file = path.resolve(__dirname, '..', 'docs', 'config.md');
fs.writeFileSync(file, configReference());
process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
