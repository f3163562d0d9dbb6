// Worker used by frame-rings.test.ts: attaches to an arena by id and reads rows on request.
import { parentPort, workerData } from 'node:worker_threads';
import { attachFrameRings } from '../../src/window/frame-rings.js';

const { view } = attachFrameRings(workerData.id as number);
parentPort!.on('message', (msg: { from: number; to: number } | 'exit') => {
  if (msg === 'exit') process.exit(0);
  parentPort!.postMessage(Array.from(view.subarray(msg.from, msg.to)));
});
parentPort!.postMessage('ready');
