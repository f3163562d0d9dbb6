// `seismo <args>` from the TypeScript sources, for tests that run consumers as separate processes.
import { main } from '../../src/cli/main.js';

void main(process.argv);
