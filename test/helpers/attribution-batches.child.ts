// Child of test/native/attribution-batch.test.ts: runs every batch case and prints the results (by
// their bits) with how many batches the addon took, in a process the parent starts with
// SEISMO_NATIVE=off (the addon as if absent).
import { nativeAttributionBatchCount } from '../../src/score/attribution.js';
import { batchCases, resultBits, runBatchCase } from './attribution-batches.js';

const results = batchCases().map((k) => resultBits(runBatchCase(k)));
process.stdout.write(JSON.stringify({ nativeBatches: nativeAttributionBatchCount(), results }));
