// Online learning with a person answering: a learner attached to the detector asks about the
// windows it is least sure of (at most 4 questions per 256 windows), a person answers y or n on
// the terminal, and the learner fine-tunes and swaps in a new version of the model once it has
// enough answers, while the stream keeps being scored.
//
//   npx seismo demo --out seismo-demo/
//   npx tsx examples/online-learning.mts seismo-demo/ seismo-demo/series.csv learn-work/
import readline from 'node:readline/promises';
import { Detector, OnlineLearner, readSeriesCsv, type QueueItem } from 'seismo';

const [modelDir = 'seismo-demo', dataFile = 'seismo-demo/series.csv', workDir = 'seismo-learn'] = process.argv.slice(2);

const detector = await Detector.load(modelDir);
const questions: QueueItem[] = [];
const learner = await OnlineLearner.attach(detector, {
  workDir, // versions v0001/, v0002/..., the label journal and the questions
  queue: { budget: 4, period: 256 },
  normalBuffer: 8, // fine-tune once 8 windows were labelled normal...
  anomalyBuffer: 4, // ...or 4 anomalous
  fineTune: { epochs: 2 },
  onQuery: (q) => questions.push(q),
  onUpdate: (u) => console.log(`update (${u.kind}): ${u.accepted ? `now ${u.version ?? 'a new threshold'}` : `refused: ${u.reason}`}`),
});

// Stream the file as a feed would arrive; between chunks, put the learner's questions to the person.
const person = readline.createInterface({ input: process.stdin, output: process.stdout });
const gone = new AbortController(); // the person closed the input (Ctrl-D): the stream goes on, unasked
person.on('close', () => gone.abort());
const table = await readSeriesCsv(dataFile);
const C = table.channels.length;
let answered = 0;
for (let r = 0; r < table.length; r += 256) {
  const end = Math.min(table.length, r + 256);
  await detector.write('stream', table.time.subarray(r, end), table.frames.subarray(r * C, end * C));
  await detector.flush();
  for (const q of questions.splice(0)) {
    if (gone.signal.aborted) break;
    const prompt = `window ending at ${q.timestamp} (score ${q.score.toFixed(3)}, threshold ${q.threshold.toFixed(3)}): anomaly? [y/n, anything else skips] `;
    const answer = (await person.question(prompt, { signal: gone.signal }).catch(() => '')).trim();
    if (answer !== 'y' && answer !== 'n') continue; // an unanswered question costs nothing
    learner.label(q.ref, answer === 'y');
    answered++;
  }
}
person.close();

await learner.idle(); // let a running update finish
console.log(`${answered} answers; ${learner.updates} updates; scoring with ${learner.versionName()}`);
await learner.close();
await detector.close();
