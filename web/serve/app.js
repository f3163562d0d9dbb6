// seismo serve, the page: the tabs, loading the state, the server-sent event feed and start-up.
// Loaded last (index.html): the other scripts (common.js, live.js, questions.js, versions.js,
// evaluation.js) have defined what it calls.
'use strict';

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
