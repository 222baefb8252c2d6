// jobs.js: the jobs page (staff): upload an AOI, submit a request, watch the queue.
import './style.css';
import { api, el, whoami } from './api.js';

async function refreshAOIs() {
  const { aois } = await api('/api/v1/aois');
  const sel = document.getElementById('submit-aoi');
  const cur = sel.value;
  sel.replaceChildren(...aois.map((a) => el('option', { value: a.id }, a.name)));
  if (cur) sel.value = cur;
  const body = document.querySelector('#watch-table tbody');
  body.replaceChildren(...aois.map((a) => el('tr', {}, el('td', {}, a.name), el('td', {}, a.watched ? 'yes' : 'no'),
    el('td', {}, el('button', { type: 'button', onclick: async () => {
      await api(`/api/v1/aois/${encodeURIComponent(a.id)}/watch`, { method: a.watched ? 'DELETE' : 'PUT' });
      refreshAOIs();
    } }, a.watched ? 'take off' : 'watch monthly')))));
}

async function refreshRequests() {
  const { requests } = await api('/api/v1/requests');
  const body = document.querySelector('#requests-table tbody');
  body.replaceChildren(...requests.map((t) => el('tr', { 'data-task': t.id, class: `state-${t.state}` },
    el('td', { class: 'mono' }, t.id), el('td', {}, t.aoi_id || ''), el('td', {}, t.queue), el('td', { class: 'state' }, t.state),
    el('td', {}, el('progress', { max: 100, value: Math.round(t.percent || 0) }), ` ${t.stage || ''}`),
    el('td', { class: 'failure' }, t.failure_reason || ''))));
}

document.getElementById('upload-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = document.getElementById('upload-result');
  const file = document.getElementById('upload-file').files[0];
  try {
    let text = await file.text();
    const months = Number(document.getElementById('upload-embargo').value || 0);
    if (months > 0) {
      const doc = JSON.parse(text);
      const target = doc.type === 'FeatureCollection' ? doc.features[0] : doc.type === 'Feature' ? doc : null;
      if (target) {
        target.properties = { ...(target.properties || {}), embargo_months: months };
        text = JSON.stringify(doc);
      }
    }
    const a = await api('/api/v1/aois', { method: 'POST', body: text, type: 'application/geo+json' });
    out.textContent = `uploaded ${a.name} (${a.id}, ${a.area_ha.toFixed(1)} ha)`;
    out.className = 'msg ok';
    await refreshAOIs();
    document.getElementById('submit-aoi').value = a.id;
  } catch (err) {
    out.textContent = `refused: ${err.message}`;
    out.className = 'msg err';
  }
});

document.getElementById('submit-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = document.getElementById('submit-result');
  const body = { aoi_id: document.getElementById('submit-aoi').value, options: {} };
  const b = document.getElementById('submit-before').value.trim();
  const a = document.getElementById('submit-after').value.trim();
  if (b) body.before = b;
  if (a) body.after = a;
  const ma = Number(document.getElementById('submit-minarea').value);
  if (ma > 0) body.options.min_area_ha = ma;
  try {
    const t = await api('/api/v1/requests', { method: 'POST', body });
    out.textContent = t.duplicate ? `already requested: ${t.id}` : `queued: ${t.id}`;
    out.className = 'msg ok';
    refreshRequests();
  } catch (err) {
    out.textContent = `refused: ${err.message}`;
    out.className = 'msg err';
  }
});

async function main() {
  await whoami();
  await refreshAOIs();
  await refreshRequests();
  setInterval(() => refreshRequests().catch(() => {}), 2000);
  document.body.dataset.ready = 'true';
}
main().catch((e) => { document.body.dataset.error = e.message; });
