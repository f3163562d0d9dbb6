// seismo serve, the page: model versions — kept versions, update records, swap and rollback,
// drift and error events.
'use strict';

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
