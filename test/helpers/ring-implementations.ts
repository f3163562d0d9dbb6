// The ring suites run against both arenas FrameRings can stand on: the addon's and the
// TypeScript one that replaces it where the addon cannot load.
import { useRingImplementation, type RingImplementation } from '../../src/native.js';

export const RING_IMPLEMENTATIONS: readonly RingImplementation[] = ['native', 'typescript'];

/** Registers `suite` once per ring arena, with FrameRings built on that arena inside it. */
export function forEachRingImplementation(suite: (implementation: RingImplementation) => void): void {
  for (const implementation of RING_IMPLEMENTATIONS) {
    describe(`on the ${implementation} ring arena`, () => {
      before(() => useRingImplementation(implementation));
      after(() => useRingImplementation(undefined));
      suite(implementation);
    });
  }
}
