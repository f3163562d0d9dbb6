/** Kept so that `import { Detector } from './detector.js'` keeps working: the detector lives in src/detector/. */
export * from './detector/index.js';
