// seismo serve, the page: the live view — series list, channels and scores with alarm bands,
// the alarm table (episodes, per-channel shares) and an alarm's window in context.
'use strict';

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
