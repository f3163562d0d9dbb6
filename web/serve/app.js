// seismo serve: the page. Plain browser JavaScript (no build step); charts by uPlot.
'use strict';

const COLORS = ['#2f6fde', '#e07b1a', '#2e9e5b', '#8a4fd6', '#c23b8a', '#1a9fb0', '#7a7f2a', '#5d6470', '#b5522b', '#3b8f8f'];
const MAX_POINTS = 3000;
const state = {
  info: null,
  series: new Map(), // id -> {time, values[c], scoreTime, score, threshold, anomaly, samples, scored, alarms}
  alarms: new Map(), // seriesId -> [alarm]
  selected: null,
  selectedAlarm: null,
  questions: [],
  skipped: new Set(),
  currentQuestion: null,
  eval: null,
  charts: {},
  dirty: false,
  token: sessionStorage.getItem('seismo-token') || new URLSearchParams(location.search).get('token') || '',
};
if (state.token) sessionStorage.setItem('seismo-token', state.token);
// For the browser tests and a curious person's console.
window.seismo = state;

// ---------- helpers ----------
const $ = (id) => document.getElementById(id);
const fmt = (v, digits = 4) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(digits)).toString());
const pct = (v) => (Number.isFinite(v) ? (100 * v).toFixed(1) + '%' : '–');
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
/** Epoch milliseconds become dates on the charts; anything else stays a plain number. */
let timeIsEpochMs = false;
const tx = (t) => (timeIsEpochMs ? t / 1000 : t);
const fmtTime = (t) => (t === null || t === undefined ? '–' : timeIsEpochMs ? new Date(t).toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '') : fmt(t, 8));

/** A span of time, the end without its date when the day is the same. */
function fmtSpan(a, b) {
  const x = fmtTime(a);
  const y = fmtTime(b);
  if (!timeIsEpochMs) return `${x} – ${y}`;
  return x.slice(0, 10) === y.slice(0, 10) ? `${x.slice(0, 16)} – ${y.slice(11, 16)}` : `${x.slice(0, 16)} – ${y.slice(0, 16)}`;
}

/** Wall-clock time of a server event, UTC like every other time on the page. */
const clock = (ms) => new Date(ms).toISOString().slice(11, 19) + ' UTC';

function toast(text, error = false) {
  const el = $('toast');
  el.textContent = text;
  el.className = error ? 'error' : '';
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), error ? 6000 : 2500);
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const res = await fetch(path, { ...options, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401) {
    const token = prompt('This server needs its access token for changes (printed by seismo serve at start):');
    if (token) {
      state.token = token.trim();
      sessionStorage.setItem('seismo-token', state.token);
      return api(path, options);
    }
  }
  if (!res.ok) throw new Error(data.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${res.status}`);
  return data;
}

function chartWidth(el) {
  return Math.max(200, el.clientWidth || el.parentElement.clientWidth - 28);
}

/** Red bands behind the plot for each [from, to] span (x units as plotted). */
function bandsPlugin(getBands, color = 'rgba(217,59,59,0.16)') {
  return {
    hooks: {
      drawClear: [
        (u) => {
          const bands = getBands();
          if (!bands || bands.length === 0) return;
          const { ctx } = u;
          const { top, height, left, width } = u.bbox;
          ctx.save();
          ctx.fillStyle = color;
          for (const [a, b] of bands) {
            let x0 = u.valToPos(a, 'x', true);
            let x1 = u.valToPos(b, 'x', true);
            if (x1 < left || x0 > left + width) continue;
            x0 = Math.max(x0, left);
            x1 = Math.min(Math.max(x1, x0 + 2), left + width);
            ctx.fillRect(x0, top, x1 - x0, height);
          }
          ctx.restore();
        },
      ],
    },
  };
}

function timeScale() {
  return { time: timeIsEpochMs };
}

/** Dates on the charts in UTC, as the tables print them. */
const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');
const timeLabel = () => (timeIsEpochMs ? 'time (UTC)' : 'time');

// ---------- header, tabs ----------
function showTab(name) {
  for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === name);
  for (const s of document.querySelectorAll('.tab')) s.classList.toggle('active', s.id === `tab-${name}`);
  location.hash = name;
  if (name === 'questions') loadQuestions();
  if (name === 'versions') loadVersions();
  if (name === 'eval') loadEval();
  if (name === 'live') {
    state.dirty = true;
    if (state.selectedAlarm) showAlarm(state.selectedAlarm.id);
  }
}
for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));

async function loadState() {
  const s = await api('api/state');
  state.info = s;
  const m = s.model;
  $('model-info').textContent = m
    ? `${m.kind} · window ${m.window} · stride ${m.stride} · ${m.channels.length} channels · version ${m.version} · ${m.provider}${m.threshold !== null ? ` · threshold ${fmt(m.threshold)}` : ''}`
    : 'evaluation only (no model served)';
  for (const row of s.series) ensureSeries(row.id, row);
  renderSeriesList();
  if (!state.selected && s.series.length > 0) selectSeries(s.series[0].id);
  return s;
}

// ---------- live view ----------
function ensureSeries(id, row) {
  let s = state.series.get(id);
  if (!s) {
    const C = state.info && state.info.model ? state.info.model.channels.length : 0;
    s = { time: [], values: Array.from({ length: C }, () => []), scoreTime: [], score: [], threshold: [], anomaly: [], samples: 0, scored: 0, alarms: 0, lastScore: null, lastThreshold: null };
    state.series.set(id, s);
    state.alarms.set(id, []);
  }
  if (row) Object.assign(s, { samples: row.samples, scored: row.scored, alarms: row.alarms, lastScore: row.lastScore, lastThreshold: row.lastThreshold });
  return s;
}

function trim(arrays, max) {
  const n = arrays[0].length;
  if (n <= max) return;
  for (const a of arrays) a.splice(0, n - max);
}

/** Appends what is newer than the last point held (the feed may repeat points a snapshot already had). */
function appendNewer(timeArr, cols, times, newCols) {
  const last = timeArr.length ? timeArr[timeArr.length - 1] : -Infinity;
  let from = 0;
  while (from < times.length && times[from] <= last) from++;
  for (let i = from; i < times.length; i++) {
    timeArr.push(times[i]);
    cols.forEach((c, k) => c.push(newCols[k][i]));
  }
}

function appendPoints(msg) {
  const s = ensureSeries(msg.seriesId);
  if (msg.time.length > 0 && !timeIsEpochMs && msg.time[0] > 1e11) timeIsEpochMs = true;
  appendNewer(s.time, s.values, msg.time, msg.values);
  trim([s.time, ...s.values], MAX_POINTS);
  appendNewer(s.scoreTime, [s.score, s.threshold, s.anomaly], msg.scoreTime, [msg.score, msg.threshold, msg.anomaly]);
  trim([s.scoreTime, s.score, s.threshold, s.anomaly], MAX_POINTS);
  s.samples = msg.totalSamples;
  s.scored = msg.totalScored;
  s.alarms = msg.alarms;
  if (msg.score.length > 0) {
    s.lastScore = msg.score[msg.score.length - 1];
    s.lastThreshold = msg.threshold[msg.threshold.length - 1];
  }
  if (!state.selected) selectSeries(msg.seriesId);
  state.dirty = true;
}

function renderSeriesList() {
  const ul = $('series-list');
  $('series-empty').hidden = state.series.size > 0;
  const ids = [...state.series.keys()].sort();
  ul.innerHTML = ids
    .map((id) => {
      const s = state.series.get(id);
      const over = s.lastScore !== null && s.lastThreshold !== null && s.lastScore >= s.lastThreshold;
      return `<li data-id="${esc(id)}" class="${id === state.selected ? 'active' : ''}"><div class="name"><span>${esc(id)}</span>${s.alarms > 0 ? `<span class="badge" title="alarms">${s.alarms}</span>` : ''}</div>
        <div class="sub">${s.samples.toLocaleString()} samples · score ${fmt(s.lastScore, 3)}${over ? ' <b style="color:var(--alarm)">▲</b>' : ''}</div></li>`;
    })
    .join('');
  for (const li of ul.querySelectorAll('li')) li.addEventListener('click', () => selectSeries(li.dataset.id));
}

async function selectSeries(id) {
  state.selected = id;
  state.selectedAlarm = null;
  $('alarm-detail').hidden = true;
  renderSeriesList();
  try {
    const r = await api(`api/series/${encodeURIComponent(id)}/recent?points=${MAX_POINTS}`);
    const s = ensureSeries(id);
    if (r.time.length > 0 && r.time[0] > 1e11) timeIsEpochMs = true;
    // The snapshot, then whatever the feed brought meanwhile that is newer than it.
    const fed = { time: s.time, values: s.values, scoreTime: s.scoreTime, cols: [s.score, s.threshold, s.anomaly] };
    Object.assign(s, { time: r.time, values: r.values, scoreTime: r.scoreTime, score: r.score, threshold: r.threshold, anomaly: r.anomaly });
    appendNewer(s.time, s.values, fed.time, fed.values);
    appendNewer(s.scoreTime, [s.score, s.threshold, s.anomaly], fed.scoreTime, fed.cols);
    const known = new Set(r.alarms.map((a) => a.id));
    state.alarms.set(id, [...r.alarms, ...(state.alarms.get(id) || []).filter((a) => !known.has(a.id) && a.id > (r.alarms.length ? r.alarms[r.alarms.length - 1].id : 0))]);
  } catch (err) {
    // A series announced by the feed before any sample reached the server's history.
  }
  destroyLiveCharts();
  state.dirty = true;
}

function destroyLiveCharts() {
  for (const k of ['channels', 'score']) {
    if (state.charts[k]) state.charts[k].destroy();
    state.charts[k] = null;
  }
}

/** Alarm spans of a series, merged where windows overlap: [[startX, endX], ...] in chart units. */
function alarmBands(id) {
  const list = state.alarms.get(id) || [];
  const spans = list.map((a) => [tx(a.startTime ?? a.timestamp), tx(a.timestamp)]).sort((p, q) => p[0] - q[0]);
  const out = [];
  for (const [a, b] of spans) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

function renderLive() {
  const id = state.selected;
  if (!id) return;
  const s = state.series.get(id);
  const model = state.info && state.info.model;
  if (!s || !model) return;
  $('series-title').textContent = id;
  $('series-stats').textContent = `${s.samples.toLocaleString()} samples · ${s.scored.toLocaleString()} windows scored · ${s.alarms} alarms`;
  const chEl = $('chart-channels');
  const dataC = [s.time.map(tx), ...s.values];
  if (!state.charts.channels) {
    state.charts.channels = new uPlot(
      {
        width: chartWidth(chEl),
        height: 230,
        scales: { x: timeScale() },
        tzDate: utc,
        series: [{ label: timeLabel(), value: (u, v) => (v === null ? '–' : fmtTime(timeIsEpochMs ? v * 1000 : v)) }, ...model.channels.map((name, c) => ({ label: name, stroke: COLORS[c % COLORS.length], width: 1.25, points: { show: false } }))],
        axes: [{}, { size: 60 }],
        legend: { live: true },
        plugins: [bandsPlugin(() => alarmBands(id))],
        cursor: { sync: { key: 'live' } },
      },
      dataC,
      chEl,
    );
  } else state.charts.channels.setData(dataC);
  const scEl = $('chart-score');
  const dataS = [s.scoreTime.map(tx), s.score, s.threshold];
  // Scores spread over decades (reconstruction errors) read better on a log axis.
  let minS = Infinity;
  let maxS = -Infinity;
  for (const v of s.score) {
    if (v < minS) minS = v;
    if (v > maxS) maxS = v;
  }
  const logScore = minS > 0 && maxS / minS > 20;
  if (!state.charts.score) {
    state.charts.score = new uPlot(
      {
        width: chartWidth(scEl),
        height: 180,
        tzDate: utc,
        scales: { x: timeScale(), y: logScore ? { distr: 3 } : {} },
        series: [
          { label: timeLabel(), value: (u, v) => (v === null ? '–' : fmtTime(timeIsEpochMs ? v * 1000 : v)) },
          { label: 'score', stroke: '#1d2430', width: 1.25, points: { show: false } },
          { label: 'threshold', stroke: '#d93b3b', dash: [6, 4], width: 1.25, points: { show: false } },
        ],
        axes: [{}, logScore ? { size: 60, splits: (u, i, min, max) => powersOfTen(min, max), values: (u, ticks) => ticks.map((v) => fmt(v, 2)) } : { size: 60 }],
        plugins: [bandsPlugin(() => alarmBands(id))],
        cursor: { sync: { key: 'live' } },
        hooks: {
          ready: [
            (u) => {
              u.over.addEventListener('click', () => {
                const x = u.posToVal(u.cursor.left, 'x');
                const hit = (state.alarms.get(id) || []).find((a) => x >= tx(a.startTime ?? a.timestamp) && x <= tx(a.timestamp));
                if (hit) showAlarm(hit.id);
              });
            },
          ],
        },
      },
      dataS,
      scEl,
    );
  } else state.charts.score.setData(dataS);
  // One time range for both charts: the span both hold (scores start a window after the samples;
  // with a stride above 1 the kept scores reach further back than the kept samples).
  const t0 = Math.max(s.time.length ? s.time[0] : -Infinity, s.scoreTime.length ? s.scoreTime[0] : -Infinity);
  const t1 = Math.max(s.time.length ? s.time[s.time.length - 1] : -Infinity, s.scoreTime.length ? s.scoreTime[s.scoreTime.length - 1] : -Infinity);
  if (Number.isFinite(t0) && t1 > t0) for (const c of [state.charts.channels, state.charts.score]) c.setScale('x', { min: tx(t0), max: tx(t1) });
  $('chart-score').previousElementSibling.querySelector('.muted').textContent = `(dashed: threshold; red bands: alarms; click a band for its detail${logScore ? '; log scale' : ''})`;
  renderAlarmTable();
}

/** Ticks of a log axis: the powers of ten in range (uPlot's default also draws every minor tick). */
function powersOfTen(min, max) {
  const out = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    const v = 10 ** e;
    if (v >= min && v <= max) out.push(v);
  }
  return out.length > 0 ? out : [min, max];
}

function topChannels(contributions, k = 3) {
  const names = state.info.model.channels;
  return contributions
    .map((v, c) => [names[c], v])
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map((p) => p[0]);
}

/** Alarms of overlapping or adjacent windows are one episode; its peak window stands for it. */
function episodes(list) {
  const W = state.info && state.info.model ? state.info.model.window : 1;
  const out = [];
  for (const a of list) {
    const e = out[out.length - 1];
    if (e && a.seriesId === e.last.seriesId && a.start <= e.last.start + W) {
      e.last = a;
      e.count++;
      if (a.score > e.peak.score) e.peak = a;
    } else out.push({ first: a, last: a, peak: a, count: 1 });
  }
  return out;
}

function renderAlarmTable() {
  const list = episodes(state.alarms.get(state.selected) || []).slice(-50).reverse();
  $('alarm-empty').hidden = list.length > 0;
  $('alarm-table').hidden = list.length === 0;
  const selected = state.selectedAlarm && state.selectedAlarm.id;
  $('alarm-table').querySelector('tbody').innerHTML = list
    .map((e) => {
      const active = selected !== null && selected >= e.first.id && selected <= e.last.id;
      return `<tr class="clickable ${active ? 'active' : ''}" data-id="${e.peak.id}">
      <td class="nowrap">${esc(fmtSpan(e.first.startTime ?? e.first.timestamp, e.last.timestamp))}</td><td class="num">${e.count}</td><td class="num">${fmt(e.peak.score)}</td><td class="num">${fmt(e.peak.threshold)}</td><td>${esc(topChannels(e.peak.attribution || e.peak.contributions).join(', '))}</td></tr>`;
    })
    .join('');
  for (const tr of $('alarm-table').querySelectorAll('tbody tr')) tr.addEventListener('click', () => showAlarm(Number(tr.dataset.id)));
}

async function showAlarm(alarmId) {
  let r;
  try {
    r = await api(`api/alarms/${alarmId}`);
  } catch (err) {
    toast(err.message, true);
    return;
  }
  state.selectedAlarm = r.alarm;
  renderAlarmTable();
  const a = r.alarm;
  $('alarm-detail').hidden = false;
  $('alarm-title').textContent = `${a.seriesId} · ended ${fmtTime(a.timestamp)} · score ${fmt(a.score)} (threshold ${fmt(a.threshold)}) · version ${a.version}`;
  const el = $('alarm-window');
  if (state.charts.alarm) state.charts.alarm.destroy();
  state.charts.alarm = null;
  if (r.context) {
    state.charts.alarm = contextChart(el, r.channels, r.context, 200);
  } else el.innerHTML = '<p class="muted small">The samples of this window are no longer held by the page history.</p>';
  // Each channel against its own normal errors (the attribution's shares), else the raw contributions.
  const shares = a.attribution || a.contributions;
  const total = shares.reduce((x, y) => x + Math.max(0, y), 0) || 1;
  const rows = shares.map((v, c) => ({ name: r.channels[c], v })).sort((p, q) => q.v - p.v);
  const max = Math.max(...rows.map((p) => p.v), 1e-12);
  // Attention weights over the past steps (DeepAnT with Bahdanau attention), oldest first.
  $('alarm-attention-block').hidden = !a.attention;
  if (a.attention) {
    const peak = Math.max(...a.attention, 1e-12);
    $('alarm-attention').innerHTML = a.attention
      .map((v, j) => `<div class="bar-row"><span>step ${j + 1}</span><div class="bar-track"><div class="bar-fill" style="width:${((100 * v) / peak).toFixed(1)}%"></div></div><span class="num">${pct(v)}</span></div>`)
      .join('');
  }
  $('alarm-contrib').innerHTML = rows
    .map((p) => `<div class="bar-row"><span>${esc(p.name)}</span><div class="bar-track"><div class="bar-fill" style="width:${Math.max(0, (100 * p.v) / max).toFixed(1)}%"></div></div><span class="num">${pct(Math.max(0, p.v) / total)}</span></div>`)
    .join('');
}

/** Channels around a window, the window shaded. */
function contextChart(el, channels, ctx, height) {
  el.innerHTML = '';
  if (ctx.time.length > 0 && ctx.time[0] > 1e11) timeIsEpochMs = true;
  const band = ctx.windowStartTime !== null && ctx.windowEndTime !== null ? [[tx(ctx.windowStartTime), tx(ctx.windowEndTime)]] : [];
  return new uPlot(
    {
      width: chartWidth(el),
      height,
      scales: { x: timeScale() },
      tzDate: utc,
        series: [{ label: timeLabel(), value: (u, v) => (v === null ? '–' : fmtTime(timeIsEpochMs ? v * 1000 : v)) }, ...channels.map((name, c) => ({ label: name, stroke: COLORS[c % COLORS.length], width: 1.5, points: { show: false } }))],
      axes: [{}, { size: 60 }],
      plugins: [bandsPlugin(() => band, 'rgba(47,111,222,0.14)')],
    },
    [ctx.time.map(tx), ...ctx.values],
    el,
  );
}

/** The scores around a question's window, its own marked, so that "near the threshold" can be seen. */
function scoreStrip(el, ctx, q) {
  const sc = ctx.scores;
  const mark = tx(q.timestamp);
  return new uPlot(
    {
      width: chartWidth(el),
      height: 130,
      tzDate: utc,
      scales: { x: timeScale() },
      series: [
        { label: timeLabel(), value: (u, v) => (v === null ? '–' : fmtTime(timeIsEpochMs ? v * 1000 : v)) },
        { label: 'score', stroke: '#1d2430', width: 1.25, points: { show: false } },
        { label: 'threshold', stroke: '#d93b3b', dash: [6, 4], width: 1.25, points: { show: false } },
      ],
      axes: [{}, { size: 60 }],
      plugins: [
        bandsPlugin(() => (ctx.windowStartTime !== null && ctx.windowEndTime !== null ? [[tx(ctx.windowStartTime), tx(ctx.windowEndTime)]] : []), 'rgba(47,111,222,0.14)'),
        {
          hooks: {
            draw: [
              (u) => {
                const c = u.ctx;
                c.save();
                c.fillStyle = '#2f6fde';
                c.strokeStyle = '#fff';
                c.lineWidth = 2;
                c.beginPath();
                c.arc(u.valToPos(mark, 'x', true), u.valToPos(q.score, 'y', true), 5, 0, 2 * Math.PI);
                c.fill();
                c.stroke();
                c.restore();
              },
            ],
          },
        },
      ],
    },
    [sc.scoreTime.map(tx), sc.score, sc.threshold],
    el,
  );
}

// ---------- questions ----------
async function loadQuestions() {
  let r;
  try {
    r = await api('api/questions');
  } catch (err) {
    $('no-learner').hidden = false;
    $('question-view').hidden = true;
    $('question-none').hidden = true;
    return;
  }
  $('no-learner').hidden = true;
  state.questions = r.pending;
  const badge = $('q-badge');
  badge.hidden = r.pending.length === 0;
  badge.textContent = r.pending.length;
  renderLearnerStats(r);
  const ul = $('question-list');
  $('question-empty').hidden = r.pending.length > 0;
  ul.innerHTML = r.pending
    .map(
      (q) => `<li data-key="${esc(q.key)}" class="${state.currentQuestion && state.currentQuestion.key === q.key ? 'active' : ''}" style="${state.skipped.has(q.key) ? 'opacity:.5' : ''}">
      <div class="name"><span>${esc(q.ref.seriesId)} @ ${q.ref.start}</span><span class="tag">${esc(q.reason)}</span></div>
      <div class="sub">score ${fmt(q.score, 3)} / threshold ${fmt(q.threshold, 3)}</div></li>`,
    )
    .join('');
  for (const li of ul.querySelectorAll('li')) li.addEventListener('click', () => openQuestion(li.dataset.key));
  const current = state.currentQuestion && r.pending.find((q) => q.key === state.currentQuestion.key);
  if (!current) nextQuestion();
}

function renderLearnerStats(r) {
  const b = r.buffers;
  const meter = (name, x) => `<div class="stat-line"><span>${name}</span><span>${x.size} / ${x.capacity}</span></div><div class="meter"><div style="width:${((100 * x.size) / Math.max(1, x.capacity)).toFixed(0)}%"></div></div>`;
  $('learner-stats').innerHTML =
    `<h3 style="margin-top:18px">Update buffers</h3>${meter('normal', b.normal)}${meter('anomaly', b.anomaly)}${meter('held out', b.heldOut)}` +
    `<div class="muted">${r.stats.labels} labelled · ${r.stats.asked} asked · ${r.stats.updates} updates${r.updating ? ' · <b>updating…</b>' : ''}</div>`;
}

function nextQuestion() {
  const next = state.questions.find((q) => !state.skipped.has(q.key)) || null;
  if (next) openQuestion(next.key);
  else {
    state.currentQuestion = null;
    $('question-view').hidden = true;
    $('question-none').hidden = false;
    $('question-none').querySelector('p').textContent =
      state.questions.length > 0 ? `All ${state.questions.length} pending questions were skipped; click one in the list to answer it.` : 'Nothing to answer right now: the learner asks about the windows it is least sure of as the stream goes on.';
  }
}

async function openQuestion(key) {
  const q = state.questions.find((x) => x.key === key);
  if (!q) return;
  state.currentQuestion = q;
  $('question-none').hidden = true;
  $('question-view').hidden = false;
  $('answer-result').textContent = '';
  for (const li of $('question-list').querySelectorAll('li')) li.classList.toggle('active', li.dataset.key === key);
  $('question-title').textContent = `${q.ref.seriesId}, window from sample ${q.ref.start}`;
  const rel = q.threshold > 0 ? q.score / q.threshold : NaN;
  $('question-meta').textContent = `${q.reason} · score ${fmt(q.score)} vs threshold ${fmt(q.threshold)}${Number.isFinite(rel) ? ` (${rel.toFixed(2)}×)` : ''} · version ${q.version} · ended ${fmtTime(q.timestamp)}`;
  const el = $('chart-question');
  if (state.charts.question) state.charts.question.destroy();
  state.charts.question = null;
  try {
    const r = await api(`api/questions/context?key=${encodeURIComponent(key)}`);
    if (state.charts.questionScore) state.charts.questionScore.destroy();
    state.charts.questionScore = null;
    $('chart-question-score').innerHTML = '';
    if (r.context) {
      state.charts.question = contextChart(el, r.channels, r.context, 260);
      if (r.context.scores && r.context.scores.scoreTime.length > 0) state.charts.questionScore = scoreStrip($('chart-question-score'), r.context, q);
    } else el.innerHTML = '<p class="muted">The samples around this window are no longer held by the page history (it came in long ago, or not through this server). You can still answer from its score.</p>';
  } catch (err) {
    el.innerHTML = `<p class="muted">${esc(err.message)}</p>`;
  }
}

async function answer(kind) {
  const q = state.currentQuestion;
  if (!q) return;
  if (kind === 'skip') {
    state.skipped.add(q.key);
    $('answer-result').textContent = 'skipped';
    await loadQuestions();
    nextQuestion();
    return;
  }
  try {
    const r = await api('api/questions/answer', { method: 'POST', body: { key: q.key, answer: kind } });
    toast(`${q.key}: ${kind} → ${r.outcome}`);
    state.currentQuestion = null;
    await loadQuestions();
  } catch (err) {
    toast(err.message, true);
  }
}
$('btn-anomaly').addEventListener('click', () => answer('anomaly'));
$('btn-normal').addEventListener('click', () => answer('normal'));
$('btn-skip').addEventListener('click', () => answer('skip'));
document.addEventListener('keydown', (e) => {
  if (!$('tab-questions').classList.contains('active') || e.target.tagName === 'INPUT' || e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key.toLowerCase();
  if (k === 'a') answer('anomaly');
  else if (k === 'n') answer('normal');
  else if (k === 's') answer('skip');
});

// ---------- versions ----------
async function loadVersions() {
  let r;
  try {
    r = await api('api/versions');
  } catch (err) {
    $('version-msg').textContent = err.message;
    return;
  }
  $('version-table').querySelector('tbody').innerHTML = r.kept
    .slice()
    .reverse()
    .map(
      (v) => `<tr><td><b>v${v.version}</b>${v.name ? ` <span class="muted">${esc(v.name)}</span>` : ''} ${v.version === r.live ? '<span class="tag live">live</span>' : ''}</td><td><code>${esc(v.dir)}</code></td>
      <td>${v.version === r.live ? '' : `<button class="btn small-btn" data-swap="${v.version}">Swap in</button>`}</td></tr>`,
    )
    .join('');
  for (const b of document.querySelectorAll('[data-swap]')) b.addEventListener('click', () => versionAction('swap', Number(b.dataset.swap)));
  $('btn-rollback').disabled = r.kept.length < 2;
  $('update-empty').hidden = r.updates.length > 0;
  $('update-table').hidden = r.updates.length === 0;
  $('update-table').querySelector('tbody').innerHTML = r.updates
    .slice()
    .reverse()
    .map(
      (u) => `<tr><td>${esc(u.kind)}</td><td>${esc(u.trigger)}</td><td>${u.accepted ? '<span class="tag live">accepted</span>' : `<span class="tag bad">rejected</span> <span class="small muted">${esc(u.reason || '')}</span>`}</td>
      <td>v${u.fromVersion} → ${u.version !== undefined && u.version !== null ? `v${u.version}` : '–'}</td><td>${u.normalWindows} / ${u.anomalyWindows} / ${u.replayWindows}</td>
      <td>${fmt(u.heldOutAucBefore, 3)} → ${fmt(u.heldOutAucAfter, 3)}</td><td>${fmt(u.threshold)} <span class="small muted">${esc(u.thresholdMethod || '')}</span></td><td class="num">${fmt(u.seconds, 3)}</td></tr>`,
    )
    .join('');
  $('swap-list').innerHTML = r.swaps.length
    ? r.swaps.slice().reverse().map((s) => `<li><span class="tag">${esc(s.kind || 'swap')}</span> v${s.previous} → v${s.version} <span class="muted small">${clock(s.at)}${s.reason ? ' · ' + esc(s.reason) : ''}</span></li>`).join('')
    : '<li class="muted">none yet</li>';
  $('drift-list').innerHTML = r.drifts.length
    ? r.drifts.slice().reverse().map((d) => `<li><span class="tag">${esc(d.statistic || d.on || 'drift')}</span> ${d.seriesId ? esc(d.seriesId) + ' · ' : ''}value ${fmt(d.value)} <span class="muted small">${clock(d.at)}</span></li>`).join('')
    : '<li class="muted">none yet</li>';
}

async function versionAction(kind, version) {
  $('version-msg').textContent = kind === 'rollback' ? 'rolling back…' : `swapping in v${version}…`;
  try {
    const r = await api(`api/versions/${kind}`, { method: 'POST', body: kind === 'swap' ? { version } : {} });
    $('version-msg').textContent = `v${r.previous} → v${r.version}`;
    await loadState();
  } catch (err) {
    $('version-msg').textContent = '';
    toast(err.message, true);
  }
  loadVersions();
}
$('btn-rollback').addEventListener('click', () => versionAction('rollback'));

// ---------- evaluation ----------
async function loadEval() {
  if (state.eval) return;
  let r;
  try {
    r = await api('api/eval');
  } catch (err) {
    $('no-eval').hidden = false;
    return;
  }
  $('eval-view').hidden = false;
  const n = r.scores.length;
  // Cumulative counts with the scores sorted high to low: a threshold at rank k alarms the first k.
  const tp = new Float64Array(n + 1);
  const fp = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    tp[i + 1] = tp[i] + r.labels[i];
    fp[i + 1] = fp[i] + 1 - r.labels[i];
  }
  const P = tp[n];
  const N = fp[n];
  state.eval = { ...r, tp, fp, P, N };
  const base = (f) => f.split(/[\\/]/).pop();
  $('eval-meta').title = `${r.scoresFile}\n${r.labelsFile}`;
  $('eval-meta').textContent = `${base(r.scoresFile)} with ${base(r.labelsFile)} · ${n.toLocaleString()} labelled points, ${P.toLocaleString()} anomalous · ROC AUC ${fmt(r.rocAuc, 3)} · PR AUC ${fmt(r.prAuc, 3)} · best F1 ${fmt(r.bestF1, 3)}`;
  $('btn-save').disabled = !r.canSave;
  if (!r.canSave) $('save-msg').textContent = 'give --model <dir> to save';
  drawEvalCharts();
  const slider = $('thr-slider');
  slider.max = String(n);
  setThreshold(r.threshold ?? r.scores[Math.floor(n / 100)]);
  slider.addEventListener('input', () => {
    const k = Number(slider.value);
    setThreshold(k >= n ? r.scores[n - 1] : k <= 0 ? r.scores[0] + Math.abs(r.scores[0]) * 1e-6 + 1e-12 : r.scores[k - 1], k);
  });
  $('thr-value').addEventListener('change', () => {
    const v = Number($('thr-value').value);
    if (Number.isFinite(v)) setThreshold(v);
  });
  $('btn-best').addEventListener('click', () => r.bestF1Threshold !== null && setThreshold(r.bestF1Threshold));
  $('btn-save').addEventListener('click', async () => {
    try {
      const out = await api('api/eval/threshold', { method: 'POST', body: { threshold: state.eval.threshold } });
      $('save-msg').textContent = `saved ${fmt(out.threshold, 6)} to ${out.file}${out.appliedToLive ? ' (live detector updated)' : ''}`;
    } catch (err) {
      toast(err.message, true);
    }
  });
}

/** Alarms at threshold t: scores >= t, i.e. the first k of the descending order. */
function rankOf(t) {
  const s = state.eval.scores;
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid] >= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function setThreshold(t, rank) {
  const e = state.eval;
  e.threshold = t;
  const k = rankOf(t);
  const TP = e.tp[k];
  const FP = e.fp[k];
  const FN = e.P - TP;
  const TN = e.N - FP;
  const precision = TP + FP > 0 ? TP / (TP + FP) : NaN;
  const recall = e.P > 0 ? TP / e.P : NaN;
  const fb = (b) => (TP === 0 ? 0 : ((1 + b * b) * TP) / ((1 + b * b) * TP + b * b * FN + FP));
  e.point = { fpr: e.N > 0 ? FP / e.N : 0, tpr: recall, precision: Number.isFinite(precision) ? precision : 1 };
  const fixed = (v) => (Number.isFinite(v) ? v.toFixed(3) : '–');
  $('f-precision').textContent = fixed(precision);
  $('f-recall').textContent = fixed(recall);
  $('f-f1').textContent = fixed(fb(1));
  $('f-f2').textContent = fixed(fb(2));
  $('f-alarms').textContent = (TP + FP).toLocaleString();
  $('c-tp').textContent = TP.toLocaleString();
  $('c-fp').textContent = FP.toLocaleString();
  $('c-fn').textContent = FN.toLocaleString();
  $('c-tn').textContent = TN.toLocaleString();
  $('thr-value').value = String(Number(t.toPrecision(6)));
  $('thr-slider').value = String(rank ?? k);
  for (const c of ['hist', 'roc', 'pr']) state.charts[c] && state.charts[c].redraw(false, false);
}

function drawEvalCharts() {
  const e = state.eval;
  const n = e.scores.length;
  // Histogram on a log scale of the score when all scores are positive and spread over decades.
  const lo = e.scores[n - 1];
  const hi = e.scores[0];
  const logScale = lo > 0 && hi / lo > 100;
  const f = logScale ? Math.log10 : (x) => x;
  const a = f(lo);
  const b = f(hi);
  const bins = 60;
  const width = (b - a) / bins || 1;
  const hN = new Array(bins).fill(0);
  const hA = new Array(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const j = Math.min(bins - 1, Math.max(0, Math.floor((f(e.scores[i]) - a) / width)));
    if (e.labels[i]) hA[j]++;
    else hN[j]++;
  }
  const xs = hN.map((_, j) => a + (j + 0.5) * width);
  const share = (h, total) => h.map((c) => (total > 0 ? c / total : 0));
  const thresholdLine = (toX) => ({
    hooks: {
      draw: [
        (u) => {
          const x = u.valToPos(toX(state.eval.threshold), 'x', true);
          const { ctx } = u;
          ctx.save();
          ctx.strokeStyle = '#1d2430';
          ctx.setLineDash([5, 4]);
          ctx.lineWidth = 1.5;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.restore();
        },
      ],
    },
  });
  const bars = uPlot.paths.bars({ size: [1, 100] });
  const histEl = $('chart-hist');
  state.charts.hist = new uPlot(
    {
      width: chartWidth(histEl),
      height: 260,
      scales: { x: { time: false } },
      series: [
        { label: logScale ? 'log10 score' : 'score', value: (u, v) => (v === null ? '–' : fmt(logScale ? 10 ** v : v, 3)) },
        { label: 'normal', stroke: '#2f6fde', fill: 'rgba(47,111,222,0.35)', paths: bars, points: { show: false }, value: (u, v) => pct(v) },
        { label: 'anomalous', stroke: '#d93b3b', fill: 'rgba(217,59,59,0.45)', paths: bars, points: { show: false }, value: (u, v) => pct(v) },
      ],
      axes: [{ label: logScale ? 'score (log scale)' : 'score', values: (u, ticks) => ticks.map((v) => fmt(logScale ? 10 ** v : v, 2)) }, { size: 50, values: (u, ticks) => ticks.map((v) => `${Math.round(v * 100)}%`) }],
      plugins: [thresholdLine((t) => (logScale ? Math.log10(Math.max(t, lo)) : t))],
    },
    [xs, share(hN, e.N), share(hA, e.P)],
    histEl,
  );
  // Curves from the cumulative counts, thinned to ~800 points.
  const step = Math.max(1, Math.floor(n / 800));
  const fpr = [0];
  const tpr = [0];
  const rec = [];
  const prec = [];
  for (let k = step; k <= n + step - 1; k += step) {
    const kk = Math.min(k, n);
    fpr.push(e.fp[kk] / e.N);
    tpr.push(e.tp[kk] / e.P);
    if (e.tp[kk] + e.fp[kk] > 0) {
      rec.push(e.tp[kk] / e.P);
      prec.push(e.tp[kk] / (e.tp[kk] + e.fp[kk]));
    }
  }
  const pointPlugin = (get) => ({
    hooks: {
      draw: [
        (u) => {
          const p = get();
          if (!p) return;
          const { ctx } = u;
          ctx.save();
          ctx.fillStyle = '#d93b3b';
          ctx.strokeStyle = '#fff';
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.arc(u.valToPos(p[0], 'x', true), u.valToPos(p[1], 'y', true), 6, 0, 2 * Math.PI);
          ctx.fill();
          ctx.stroke();
          ctx.restore();
        },
      ],
    },
  });
  const curve = (el, x, y, xl, yl, get, diagonal) =>
    new uPlot(
      {
        width: chartWidth(el),
        height: 260,
        scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
        series: [{ label: xl, value: (u, v) => fmt(v, 3) }, { label: yl, stroke: '#2f6fde', width: 2, points: { show: false }, value: (u, v) => fmt(v, 3) }, ...(diagonal ? [{ label: 'chance', stroke: '#b8bec8', dash: [4, 4], width: 1, points: { show: false } }] : [])],
        axes: [{ label: xl }, { label: yl, size: 50 }],
        legend: { show: false },
        plugins: [pointPlugin(get)],
      },
      diagonal ? [x, y, x] : [x, y],
      el,
    );
  state.charts.roc = curve($('chart-roc'), fpr, tpr, 'false positive rate', 'true positive rate', () => state.eval.point && [state.eval.point.fpr, state.eval.point.tpr], true);
  // PR needs x ascending: recall grows as the threshold falls.
  state.charts.pr = curve($('chart-pr'), rec, prec, 'recall', 'precision', () => state.eval.point && [state.eval.point.tpr, state.eval.point.precision], false);
}

// ---------- the feed ----------
function connect() {
  const es = new EventSource('api/feed');
  const conn = $('conn');
  es.onopen = () => {
    conn.className = 'conn up';
    $('conn-text').textContent = 'live';
  };
  es.onerror = () => {
    conn.className = 'conn down';
    $('conn-text').textContent = 'reconnecting';
  };
  es.addEventListener('points', (e) => appendPoints(JSON.parse(e.data)));
  es.addEventListener('alarms', (e) => {
    const msg = JSON.parse(e.data);
    for (const a of msg.alarms) {
      ensureSeries(a.seriesId);
      const list = state.alarms.get(a.seriesId);
      list.push(a);
      if (list.length > 500) list.shift();
    }
    state.dirty = true;
  });
  es.addEventListener('questions', (e) => {
    const msg = JSON.parse(e.data);
    $('q-badge').hidden = msg.pending === 0;
    $('q-badge').textContent = msg.pending;
    if ($('tab-questions').classList.contains('active')) loadQuestions();
  });
  const refreshVersions = () => {
    if ($('tab-versions').classList.contains('active')) loadVersions();
  };
  es.addEventListener('swap', (e) => {
    const s = JSON.parse(e.data);
    toast(`model ${s.kind || 'swap'}: v${s.previous} → v${s.version}`);
    loadState();
    refreshVersions();
  });
  es.addEventListener('update', refreshVersions);
  es.addEventListener('drift', (e) => {
    const d = JSON.parse(e.data);
    toast(`drift: ${d.statistic || d.on || ''}${d.seriesId ? ' on ' + d.seriesId : ''}`);
    refreshVersions();
  });
  es.addEventListener('error', (e) => {
    if (e.data) toast(JSON.parse(e.data).message, true);
  });
}

// Redraw at most ~5 times a second, whatever the feed's rate.
setInterval(() => {
  if (!state.dirty) return;
  state.dirty = false;
  renderSeriesList();
  if ($('tab-live').classList.contains('active')) renderLive();
}, 200);
window.addEventListener('resize', () => {
  for (const c of Object.values(state.charts)) if (c) c.setSize({ width: chartWidth(c.root.parentElement), height: c.height });
});

(async () => {
  try {
    await loadState();
  } catch (err) {
    toast(err.message, true);
  }
  connect();
  const tab = location.hash.slice(1);
  if (['live', 'questions', 'versions', 'eval'].includes(tab)) showTab(tab);
  else if (state.info && !state.info.model && state.info.evaluation) showTab('eval');
  else showTab('live');
  if (state.info && state.info.learner) loadQuestions();
})();
