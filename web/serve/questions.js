// seismo serve, the page: the learner's questions — the queue, a question's window in context,
// and the answers (buttons and the A/N/S keys).
'use strict';

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
