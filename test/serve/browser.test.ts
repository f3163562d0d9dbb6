// The page in a real browser: playwright-core driving Debian's chromium, headless, against a
// server on 127.0.0.1. Screenshots of every view land in $SEISMO_SCREENSHOTS (default: a temp folder).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Detector } from '../../src/detector/index.js';
import { OnlineLearner } from '../../src/learn/online.js';
import { QUEUE_FILE } from '../../src/learn/label-queue.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { C, copyDir, jsonRows, learnableModel, spikyStream } from './fixtures.js';

// Functions given to page.evaluate run in the page: these are its globals (the project compiles without the DOM lib).
declare const document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): { length: number }; getElementById(id: string): { textContent: string | null } | null };
declare const window: unknown;
declare class Event {
  constructor(type: string);
}
type InputElement = { value: string; dispatchEvent(e: Event): boolean };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const wait = (ms: number) => new Promise((z) => setTimeout(z, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, ms = 20000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(100);
  }
}

describe('serve: the page in a real browser (chromium, headless)', function () {
  this.timeout(180000);
  const shots = process.env.SEISMO_SCREENSHOTS ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-serve-shots-'));
  const stream = spikyStream(3000);
  let detector: Detector;
  let learner: OnlineLearner;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  let model: string;
  const pageErrors: string[] = [];
  let sent = 0;

  const send = async (seriesId: string, rows: number): Promise<void> => {
    const res = await fetch(`${server.url}api/series/${seriesId}/samples`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(jsonRows(stream, sent, sent + rows)) });
    assert.equal(res.status, 200, await res.text());
    sent += rows;
  };

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`no chromium at ${CHROMIUM}: install Debian's (\`apt-get install -y chromium\`, as .ci/run does) or set CHROMIUM_PATH`);
    }
    fs.mkdirSync(shots, { recursive: true });
    model = copyDir(await learnableModel());
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-serve-work-'));
    // An evaluation file pair: anomalies score higher, with overlap, so the slider moves every figure.
    const scores = ['timestamp,score'];
    const labels = ['timestamp,label'];
    for (let i = 0; i < 500; i++) {
      const y = i % 8 === 0 ? 1 : 0;
      // Distinct scores: rank k of the slider is then exactly k alarms.
      scores.push(`${1700000000000 + i * 60000},${(y ? 0.5 : 0) + ((i * 37) % 100) / 100 + i * 1e-6}`);
      labels.push(`${1700000000000 + i * 60000},${y}`);
    }
    fs.writeFileSync(path.join(work, 'scores.csv'), scores.join('\n') + '\n');
    fs.writeFileSync(path.join(work, 'labels.csv'), labels.join('\n') + '\n');
    detector = await Detector.load(model, { provider: 'cpu', batchSize: 16, stride: 1 });
    learner = await OnlineLearner.attach(detector, { workDir: path.join(work, 'learn'), queue: { persist: true, budget: 8, period: 128, capacity: 16 }, drift: false });
    server = await startServer({ detector, learner, port: 0, processMetrics: false, feedIntervalMs: 100, evaluation: { scores: path.join(work, 'scores.csv'), labels: path.join(work, 'labels.csv') } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await learner?.close();
    await detector?.close();
  });

  afterEach(() => {
    assert.deepEqual(pageErrors, [], 'the page threw');
  });

  it('loads: the model, the tabs and a live feed', async () => {
    await page.goto(server.url);
    await page.waitForSelector('#conn.up', { timeout: 10000 });
    assert.match(await page.textContent('#model-info') ?? '', /lstm-ae · window 8 · stride 1 · 3 channels · version 1/);
    assert.deepEqual(await page.locator('#tabs button').allTextContents().then((t) => t.map((s) => s.replace(/\s*\d*\s*$/, '').trim())), ['Live', 'Questions', 'Versions', 'Evaluate']);
  });

  it('moves the live chart while samples are posted', async () => {
    await send('host-1', 200);
    await page.waitForFunction(() => document.querySelector('#series-list li') !== null);
    const lastX = () => page.evaluate(() => {
      const u = (window as unknown as { seismo: { charts: { channels?: { data: number[][] } } } }).seismo?.charts.channels;
      return u ? { n: u.data[0]!.length, last: u.data[0]![u.data[0]!.length - 1]! } : null;
    });
    const first = await until('the channels chart', async () => ((await lastX())?.n ? ((await lastX()) ?? undefined) : undefined));
    await send('host-1', 300);
    const later = await until('the chart to move', async () => {
      const now = await lastX();
      return now && now.last > first.last ? now : undefined;
    });
    assert.ok(later.n > first.n, `${later.n} points after ${first.n}`);
    assert.equal(await page.textContent('#series-title'), 'host-1');
    await page.screenshot({ path: path.join(shots, 'live.png') });
  });

  it("shows an alarm's window and each channel's contribution when it is clicked", async () => {
    // Spikes are planted every 150 rows: the stream so far holds some.
    await send('host-1', 400);
    const row = page.locator('#alarm-table tbody tr').first();
    await row.waitFor({ timeout: 20000 });
    await row.click();
    await page.waitForSelector('#alarm-detail:not([hidden]) .bar-row');
    const bars = await page.locator('#alarm-contrib .bar-row').allTextContents();
    assert.equal(bars.length, C);
    const shares = bars.map((b) => Number(/([\d.]+)%$/.exec(b)![1]));
    assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 100) < 1, `shares ${shares}`);
    assert.ok(shares[0]! >= shares[1]! && shares[1]! >= shares[2]!, 'largest first');
    const canvas = await page.locator('#alarm-window canvas').count();
    assert.ok(canvas > 0, 'the window is plotted');
    await page.screenshot({ path: path.join(shots, 'alarm.png'), fullPage: true });
  });

  it("takes a label from the page's buttons and keys into the learner's buffers, persisted in its queue", async () => {
    await page.click('#tabs button[data-tab=questions]');
    await until('questions', () => learner.queue.size > 0 || (send('host-1', 100).then(() => false) as unknown as false));
    await page.waitForSelector('#question-view:not([hidden])', { timeout: 10000 });
    await page.waitForSelector('#chart-question canvas', { timeout: 10000 });
    await page.screenshot({ path: path.join(shots, 'questions.png') });
    const key = await page.evaluate(() => (window as unknown as { seismo: { currentQuestion: { key: string } } }).seismo.currentQuestion.key);
    assert.ok(learner.queue.has(key));
    const before = { labels: learner.stats().labels, anomaly: learner.anomaly.size };
    await page.keyboard.press('a');
    await until('the label to reach the learner', () => learner.stats().labels === before.labels + 1);
    assert.equal(learner.anomaly.size, before.anomaly + 1, 'the first label of an anomaly goes to the anomaly buffer');
    assert.ok(!learner.queue.has(key));
    assert.ok(!fs.readFileSync(path.join(work, 'learn', QUEUE_FILE), 'utf8').includes(`"${key}"`), 'the answered question left the persisted queue');
    // The next one, by the button.
    const next = await until('the next question', () => page.evaluate(() => (window as unknown as { seismo: { currentQuestion: { key: string } | null } }).seismo.currentQuestion?.key));
    await page.click('#btn-normal');
    await until('the second label', () => learner.stats().labels === before.labels + 2);
    assert.ok(!learner.queue.has(next));
  });

  it('lists versions with swap and rollback', async () => {
    await detector.swapModel(model);
    await page.click('#tabs button[data-tab=versions]');
    await page.waitForSelector('#version-table tbody tr:nth-child(2)');
    const first = await page.textContent('#version-table tbody tr:first-child') ?? '';
    assert.match(first, /^\s*v2\b[\s\S]*live/);
    // The learner's readable name, the one its folders and the CLI use, stands beside the number.
    assert.ok(first.includes(learner.versionName(2)), `${first} names ${learner.versionName(2)}`);
    await page.click('#btn-rollback');
    await until('the rollback', () => detector.version === 1);
    await page.waitForFunction(() => /^\s*v1\b[\s\S]*live/.test(document.querySelector('#version-table tbody tr:first-child')?.textContent ?? ''));
    await page.waitForFunction(() => document.querySelectorAll('#swap-list li .tag').length === 2);
    await page.screenshot({ path: path.join(shots, 'versions.png') });
  });

  it('updates precision, recall, F1, F2 and the confusion matrix live as the threshold slider moves', async () => {
    await page.click('#tabs button[data-tab=eval]');
    await page.waitForSelector('#eval-view:not([hidden]) #chart-roc canvas');
    const figures = () => page.evaluate(() => ['f-precision', 'f-recall', 'f-f1', 'f-f2', 'c-tp', 'c-fp', 'c-fn', 'c-tn'].map((id) => document.getElementById(id)!.textContent));
    const at = async (rank: number) => {
      await page.locator('#thr-slider').evaluate((el, v) => {
        (el as unknown as InputElement).value = String(v);
        (el as unknown as InputElement).dispatchEvent(new Event('input'));
      }, rank);
      return figures();
    };
    const few = await at(20);
    const many = await at(300);
    assert.notDeepEqual(few, many);
    const [tp1, fp1, fn1, tn1] = few.slice(4).map((x) => Number(x!.replace(/,/g, '')));
    const [tp2, fp2, fn2, tn2] = many.slice(4).map((x) => Number(x!.replace(/,/g, '')));
    assert.equal(tp1! + fp1!, 20);
    assert.equal(tp2! + fp2!, 300);
    assert.equal(tp1! + fn1!, 63);
    assert.equal(tp2! + fn2!, 63);
    assert.equal(tp1! + fp1! + fn1! + tn1!, 500);
    assert.equal(tp2! + fp2! + fn2! + tn2!, 500);
    assert.ok(Number(many[1]) > Number(few[1]), 'recall grows with more alarms');
    await page.screenshot({ path: path.join(shots, 'eval.png') });
    await page.click('#btn-save');
    await page.waitForFunction(() => /saved/.test(document.getElementById('save-msg')!.textContent ?? ''));
    const manifest = JSON.parse(fs.readFileSync(path.join(model, 'model.json'), 'utf8')) as { thresholds: { global: { value: number } } };
    const shown = Number(await page.inputValue('#thr-value'));
    assert.ok(Math.abs(manifest.thresholds.global.value - shown) <= 1e-5 * Math.abs(shown), `${manifest.thresholds.global.value} vs ${shown}`);
  });
});
