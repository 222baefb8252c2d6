// map.js: the map page. Imagery and change come as 256 px tiles that serve draws from
// the run's COGs with GDAL; incidents are GeoJSON from the OGC API - Features routes.
// No basemap server is needed (serve --basemap configures an optional one).
import 'ol/ol.css';
import './style.css';
import OLMap from 'ol/Map.js';
import View from 'ol/View.js';
import TileLayer from 'ol/layer/Tile.js';
import VectorLayer from 'ol/layer/Vector.js';
import XYZ from 'ol/source/XYZ.js';
import VectorSource from 'ol/source/Vector.js';
import GeoJSON from 'ol/format/GeoJSON.js';
import { Fill, Stroke, Style } from 'ol/style.js';
import { transformExtent, fromLonLat } from 'ol/proj.js';
import { getRenderPixel } from 'ol/render.js';
import { ScaleLine, defaults as defaultControls } from 'ol/control.js';
import { api, el, whoami } from './api.js';

const CLASS_COLOURS = {
  vegetation_to_bare: [255, 140, 0],
  vegetation_to_water: [0, 170, 255],
  burn_scar: [200, 0, 40],
  vegetation_loss: [255, 0, 255],
};
const CLASS_LABELS = {
  vegetation_to_bare: 'vegetation to bare soil',
  vegetation_to_water: 'vegetation to water',
  burn_scar: 'burn scar',
  vegetation_loss: 'other vegetation loss',
};
const STATUS_STROKES = {
  new: { color: '#ffffff', width: 3, dash: null },
  growing: { color: '#ffe600', width: 3, dash: null },
  active: { color: '#ffffff', width: 1.5, dash: null },
  quiet: { color: '#bbbbbb', width: 1.5, dash: [4, 4] },
  confirmed: { color: '#00e05a', width: 3, dash: null },
  rejected: { color: '#888888', width: 1.5, dash: [2, 4] },
};

const state = { me: null, aoi: null, runs: [], run: null, mode: 'swipe', selected: null };
window.changewatch = state; // for the browser test and the curious

const geojson = new GeoJSON({ featureProjection: 'EPSG:3857' });
const aoiSource = new VectorSource();
const incidentSource = new VectorSource();

function incidentStyle(f) {
  const c = CLASS_COLOURS[f.get('class')] || [255, 0, 255];
  const s = STATUS_STROKES[f.get('status')] || STATUS_STROKES.active;
  const sel = state.selected && state.selected.getId() === f.getId();
  const alpha = f.get('status') === 'rejected' ? 0.15 : 0.45;
  return new Style({
    fill: new Fill({ color: `rgba(${c[0]},${c[1]},${c[2]},${alpha})` }),
    stroke: new Stroke({ color: sel ? '#000000' : s.color, width: sel ? 4 : s.width, lineDash: s.dash || undefined }),
  });
}

function tileSource(layer) {
  return new XYZ({ tileSize: 256, maxZoom: 18, crossOrigin: null, transition: 0 });
}
const before = new TileLayer({ source: tileSource('before'), properties: { name: 'before' } });
const after = new TileLayer({ source: tileSource('after'), properties: { name: 'after' } });
const change = new TileLayer({ source: tileSource('change'), visible: false, opacity: 0.8 });
const layers = [before, after, change,
  new VectorLayer({ source: aoiSource, style: new Style({ stroke: new Stroke({ color: '#222', width: 2, lineDash: [6, 4] }) }) }),
  new VectorLayer({ source: incidentSource, style: incidentStyle, properties: { name: 'incidents' } })];

const map = new OLMap({
  target: 'map',
  layers,
  view: new View({ center: fromLonLat([27.9, 1.4]), zoom: 12, maxZoom: 19 }),
  controls: defaultControls().extend([new ScaleLine()]),
});
state.map = map;

// Swipe: the after layer is clipped to the right of the slider, the before layer shows
// on the left.
const swipe = document.getElementById('swipe');
after.on('prerender', (ev) => {
  if (state.mode !== 'swipe') return;
  const ctx = ev.context;
  const x = (map.getSize()[0] * swipe.value) / 100;
  const tl = getRenderPixel(ev, [x, 0]);
  const tr = getRenderPixel(ev, [map.getSize()[0], 0]);
  const bl = getRenderPixel(ev, [x, map.getSize()[1]]);
  const br = getRenderPixel(ev, map.getSize());
  ctx.save();
  ctx.beginPath();
  ctx.moveTo(tl[0], tl[1]);
  ctx.lineTo(bl[0], bl[1]);
  ctx.lineTo(br[0], br[1]);
  ctx.lineTo(tr[0], tr[1]);
  ctx.closePath();
  ctx.clip();
});
after.on('postrender', (ev) => {
  if (state.mode !== 'swipe') return;
  const ctx = ev.context;
  ctx.restore();
  const x = (map.getSize()[0] * swipe.value) / 100;
  const top = getRenderPixel(ev, [x, 0]);
  const bottom = getRenderPixel(ev, [x, map.getSize()[1]]);
  ctx.save();
  ctx.strokeStyle = 'rgba(255,255,255,0.9)';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(top[0], top[1]);
  ctx.lineTo(bottom[0], bottom[1]);
  ctx.stroke();
  ctx.restore();
});
swipe.addEventListener('input', () => map.render());

function setMode(mode) {
  state.mode = mode;
  before.setVisible(mode !== 'after');
  after.setVisible(mode !== 'before');
  swipe.hidden = mode !== 'swipe';
  for (const m of ['before', 'swipe', 'after']) document.getElementById(`show-${m}`).classList.toggle('on', m === mode);
  map.render();
}
for (const m of ['before', 'swipe', 'after']) document.getElementById(`show-${m}`).addEventListener('click', () => setMode(m));
document.getElementById('show-change').addEventListener('change', (e) => change.setVisible(e.target.checked));

function tileURL(layer) {
  return `/api/v1/aois/${encodeURIComponent(state.aoi.id)}/runs/${encodeURIComponent(state.run.run)}/tiles/${layer}/{z}/{x}/{y}.png`;
}

function legend() {
  const box = document.getElementById('legend');
  box.replaceChildren(el('h3', {}, 'Legend'),
    el('ul', { class: 'legend' },
      Object.entries(CLASS_LABELS).map(([k, label]) => el('li', {},
        el('span', { class: 'swatch', style: `background:rgb(${CLASS_COLOURS[k].join(',')})` }), label))),
    el('ul', { class: 'legend' },
      Object.entries(STATUS_STROKES).map(([k, s]) => el('li', {},
        el('span', { class: 'swatch line', style: `border-color:${s.color};border-style:${s.dash ? 'dashed' : 'solid'};border-width:${Math.max(2, s.width)}px` }), k))));
}

async function loadAOIs() {
  const { aois } = await api('/api/v1/aois?geometry=true');
  const sel = document.getElementById('aoi-select');
  sel.replaceChildren(...aois.map((a) => el('option', { value: a.id }, `${a.name}${a.sensitive ? ' (sensitive)' : ''}`)));
  state.aois = aois;
  const want = new URLSearchParams(location.search).get('aoi');
  const first = aois.find((a) => a.id === want) || aois.find((a) => a.runs > 0) || aois[0];
  if (first) {
    sel.value = first.id;
    await selectAOI(first.id);
  } else {
    document.getElementById('downloads').replaceChildren(el('p', {}, 'No AOI yet.'));
  }
  sel.addEventListener('change', () => selectAOI(sel.value));
}

async function selectAOI(id) {
  state.aoi = state.aois.find((a) => a.id === id);
  aoiSource.clear();
  if (state.aoi.geometry) {
    aoiSource.addFeature(geojson.readFeature({ type: 'Feature', geometry: state.aoi.geometry }));
  }
  if (state.aoi.bbox) {
    map.getView().fit(transformExtent(state.aoi.bbox, 'EPSG:4326', 'EPSG:3857'), { padding: [30, 30, 30, 30] });
  }
  const { runs } = await api(`/api/v1/aois/${encodeURIComponent(id)}/runs`);
  state.runs = runs;
  const sel = document.getElementById('run-select');
  sel.replaceChildren(...runs.map((r) => el('option', { value: r.run, title: `${r.before} → ${r.after}` }, r.run)));
  sel.onchange = () => selectRun(sel.value);
  if (runs.length) await selectRun(runs[0].run);
  else {
    state.run = null;
    for (const l of [before, after, change]) l.getSource().setUrl('');
    document.getElementById('downloads').replaceChildren(el('p', {}, 'No published run visible.'));
  }
  await loadIncidents();
}

async function selectRun(name) {
  state.run = state.runs.find((r) => r.run === name);
  before.getSource().setUrl(tileURL('before'));
  after.getSource().setUrl(tileURL('after'));
  change.getSource().setUrl(tileURL('change'));
  downloads();
}

function downloads() {
  const r = state.run;
  const want = [['changes.fgb', 'FlatGeobuf'], ['changes.gpkg', 'GeoPackage'], ['changes.geojson', 'GeoJSON'],
    ['changes.qml', 'QGIS style'],
    ['change_class.tif', 'change COG'], ['before_rgb.tif', 'before COG'], ['after_rgb.tif', 'after COG'],
    ['dndvi.tif', 'dNDVI COG'], ['item.json', 'STAC item']];
  const files = new Map(r.files.map((f) => [f.name, f]));
  const items = want.filter(([n]) => files.has(n)).map(([n, label]) =>
    el('li', {}, el('a', { href: files.get(n).href, download: n, 'data-file': n }, label), ` ${(files.get(n).size / 1024).toFixed(0)} KiB`));
  const stats = Object.entries(r.hectares || {}).map(([c, ha]) =>
    el('li', {}, `${CLASS_LABELS[c] || c}: ${r.polygons[c] || 0} polygons, ${ha.toFixed(2)} ha`));
  const aoiFiles = state.aoi.sensitive && !state.me.staff ? [] :
    ['incidents.fgb', 'incidents.gpkg', 'incidents.geojson', 'incidents.qml', 'incident_history.csv'].map((n) =>
      el('li', {}, el('a', { href: `/api/v1/aois/${encodeURIComponent(state.aoi.id)}/files/${n}`, download: n }, n)));
  document.getElementById('downloads').replaceChildren(
    el('h3', {}, `Run ${r.run}`), el('p', { class: 'small' }, `before ${r.before}, after ${r.after}`),
    el('ul', {}, stats), el('h3', {}, 'Downloads'), el('ul', { id: 'download-list' }, items),
    aoiFiles.length ? el('h3', {}, 'Incident ledger') : null, aoiFiles.length ? el('ul', {}, aoiFiles) : null);
}

async function loadIncidents() {
  incidentSource.clear();
  const url = `/api/v1/collections/${encodeURIComponent(state.aoi.id)}/items?limit=1000`;
  const fc = await api(url);
  const feats = geojson.readFeatures(fc);
  incidentSource.addFeatures(feats);
  document.body.dataset.incidents = String(feats.length);
  if (state.selected) showIncident(incidentSource.getFeatureById(state.selected.getId()));
}

// pixelOf returns a map pixel inside incident id (for tests: click there).
state.pixelOf = (id) => {
  const f = incidentSource.getFeatureById(id);
  if (!f) return null;
  const g = f.getGeometry();
  const p = g.getType() === 'MultiPolygon' ? g.getInteriorPoints().getCoordinates()[0] : g.getInteriorPoint().getCoordinates();
  const px = map.getPixelFromCoordinate(p);
  const r = map.getTargetElement().getBoundingClientRect();
  return [px[0] + r.left, px[1] + r.top];
};
state.incidentIds = () => incidentSource.getFeatures().map((f) => f.getId());

map.on('singleclick', (ev) => {
  let hit = null;
  map.forEachFeatureAtPixel(ev.pixel, (f, layer) => {
    if (layer && layer.get('name') === 'incidents') { hit = f; return true; }
    return false;
  });
  showIncident(hit);
});

function historyChart(byRun) {
  const runs = Object.keys(byRun || {}).sort();
  const W = 260, H = 110, P = 28;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('id', 'history-chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'area by run');
  const max = Math.max(0.01, ...runs.map((r) => byRun[r]));
  const x = (i) => P + (runs.length === 1 ? (W - 2 * P) / 2 : (i * (W - 2 * P)) / (runs.length - 1));
  const y = (v) => H - P + 6 - (v / max) * (H - P - 10);
  const ns = (tag, attrs) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    svg.append(e);
    return e;
  };
  ns('line', { x1: P, y1: H - P + 6, x2: W - P / 2, y2: H - P + 6, stroke: '#999' });
  ns('line', { x1: P, y1: 4, x2: P, y2: H - P + 6, stroke: '#999' });
  ns('text', { x: 2, y: 12, 'font-size': 9 }).textContent = `${max.toFixed(1)} ha`;
  if (runs.length > 1) {
    ns('polyline', { points: runs.map((r, i) => `${x(i)},${y(byRun[r])}`).join(' '), fill: 'none', stroke: '#2d6a4f', 'stroke-width': 2 });
  }
  runs.forEach((r, i) => {
    ns('circle', { cx: x(i), cy: y(byRun[r]), r: 3.5, fill: '#2d6a4f', class: 'point' });
    ns('text', { x: x(i) - 18, y: H - 4, 'font-size': 8 }).textContent = r.slice(0, 7);
  });
  return svg;
}

// chip is the run's composite around the incident (serve reads the COG's window).
function chip(layer, f) {
  const ext = transformExtent(f.getGeometry().getExtent(), 'EPSG:3857', 'EPSG:4326');
  const pad = Math.max(ext[2] - ext[0], ext[3] - ext[1], 0.004) * 0.75;
  const cx = (ext[0] + ext[2]) / 2, cy = (ext[1] + ext[3]) / 2;
  const bbox = [cx - pad, cy - pad, cx + pad, cy + pad].map((v) => v.toFixed(6)).join(',');
  const src = `/api/v1/aois/${encodeURIComponent(state.aoi.id)}/runs/${encodeURIComponent(state.run.run)}/chips/${layer}.png?bbox=${bbox}`;
  return el('figure', { class: 'chip' }, el('img', { src, alt: `${layer} composite`, width: 128, height: 128, class: `chip-${layer}` }), el('figcaption', {}, layer));
}

function showIncident(f) {
  state.selected = f;
  incidentSource.changed();
  const panel = document.getElementById('incident-panel');
  if (!f) { panel.hidden = true; return; }
  const p = f.getProperties();
  const rows = [['id', f.getId()], ['class', CLASS_LABELS[p.class] || p.class], ['status', p.status],
    ['first seen', p.first_seen], ['last seen', p.last_seen], ['area', `${(p.area_ha || 0).toFixed(2)} ha`],
    ['runs seen', p.runs_seen], ['max confidence', (p.max_confidence || 0).toFixed(2)],
    ['protected area', p.protected_area], ['nearest mine', p.mine_name && `${p.mine_name} (${p.mine_mineral || '?'}, ${p.mine_distance_km} km)`],
    ['verdict', p.verdict && `${p.verdict.verdict}${p.verdict.reason ? ` (${p.verdict.reason})` : ''} by ${p.verdict.by}`]]
    .filter(([, v]) => v !== undefined && v !== null && v !== '');
  const children = [el('h3', {}, 'Incident'),
    el('table', { class: 'attrs' }, rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', { 'data-attr': k }, String(v))))),
    el('h4', {}, 'Area history'), historyChart(p.area_by_run),
    el('div', { class: 'chips' }, state.run ? [chip('before', f), chip('after', f)] : [])];
  if (state.me.staff) children.push(reviewForm(f));
  panel.replaceChildren(...children);
  panel.hidden = false;
}

function reviewForm(f) {
  const reason = el('select', { id: 'reject-reason' },
    ['cloud_or_shadow', 'seasonal', 'misregistration', 'not_mining', 'duplicate', 'other'].map((r) => el('option', { value: r }, r)));
  const comment = el('textarea', { id: 'review-comment', rows: 2, placeholder: 'comment' });
  const msg = el('p', { class: 'msg', id: 'review-msg' });
  const send = async (verdict) => {
    try {
      const body = { verdict, comment: comment.value };
      if (verdict === 'rejected') body.reason = reason.value;
      await api(`/api/v1/collections/${encodeURIComponent(state.aoi.id)}/items/${encodeURIComponent(f.getId())}/verdicts`, { method: 'POST', body });
      msg.textContent = `${verdict}: saved`;
      await loadIncidents();
    } catch (e) {
      msg.textContent = `not saved: ${e.message}`;
    }
  };
  return el('div', { class: 'review' }, el('h4', {}, 'Review'),
    el('button', { id: 'confirm-btn', type: 'button', onclick: () => send('confirmed') }, 'Confirm'),
    el('button', { id: 'reject-btn', type: 'button', onclick: () => send('rejected') }, 'Reject'), ' reason ', reason,
    comment, msg);
}

async function main() {
  state.me = await whoami();
  if (state.me.basemap) map.getLayers().insertAt(0, new TileLayer({ source: new XYZ({ url: state.me.basemap, maxZoom: 19 }) }));
  document.getElementById('jobs-link').hidden = !state.me.staff;
  legend();
  setMode('swipe');
  await loadAOIs();
  document.body.dataset.ready = 'true';
}
main().catch((e) => {
  document.body.dataset.error = e.message;
  console.error(e);
});
