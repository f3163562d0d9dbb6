// seismo serve, the page: what every view shares — the page state, formatting, the API call, time
// on the charts, alarm bands. Plain browser JavaScript (no build step): the page's scripts are
// classic scripts loaded in order (index.html), sharing these top-level names; charts by uPlot.
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
