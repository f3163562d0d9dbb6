// seismo serve, the page: the evaluation view — score histograms, ROC and PR curves, and the
// threshold slider with its confusion matrix and metrics, saved into model.json.
'use strict';

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
