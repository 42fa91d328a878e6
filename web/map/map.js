// The map viewer of a node (/map). Bundled with only the parts of OpenLayers it uses (npm run build).
//
// The layer list is the node's WMS GetCapabilities as the caller sees it: a same-origin request, so the
// caller's session or credentials go with it and the node's access front decides what is listed. The state
// (centre, zoom, layers and their opacity, basemap) lives in the URL hash, so a link shows the same map.

import Map from 'ol/Map.js';
import View from 'ol/View.js';
import TileLayer from 'ol/layer/Tile.js';
import ImageLayer from 'ol/layer/Image.js';
import XYZ from 'ol/source/XYZ.js';
import ImageWMS from 'ol/source/ImageWMS.js';
import WMSCapabilities from 'ol/format/WMSCapabilities.js';
import ScaleLine from 'ol/control/ScaleLine.js';
import { defaults as defaultControls } from 'ol/control/defaults.js';
import { fromLonLat, toLonLat, transformExtent } from 'ol/proj.js';

const cfg = JSON.parse(document.getElementById('map-config').textContent);
const t = cfg.t;
const $ = (id) => document.getElementById(id);
const status = (text) => { $('status').textContent = text; };

// ---- the map and its offline basemap -------------------------------------------------------------
const basemap = new TileLayer({
  source: cfg.tiles ? new XYZ({ url: cfg.tiles, attributions: cfg.attribution, maxZoom: 18 }) : undefined,
  visible: Boolean(cfg.tiles),
  zIndex: 0,
});
// whole zoom levels: the basemap tiles are drawn for them, and a tile stretched between two levels blurs
const view = new View({ center: fromLonLat([31, 49]), zoom: 6, maxZoom: 19, constrainResolution: true });
const map = new Map({
  target: 'map',
  layers: [basemap],
  view,
  controls: defaultControls({ attributionOptions: { collapsible: false } }).extend([new ScaleLine({ maxWidth: 100 })]),
});
const home = transformExtent(cfg.extent, 'EPSG:4326', 'EPSG:3857');

// ---- layers from the WMS capabilities ------------------------------------------------------------
/** @type {Map<string, {layer: ImageLayer, title: string, queryable: boolean, box: HTMLInputElement, range: HTMLInputElement}>} */
const wms = new globalThis.Map();
let order = 0;

function wmsLayer(name) {
  return new ImageLayer({
    source: new ImageWMS({
      url: cfg.ows, ratio: 1,
      params: { LAYERS: name, STYLES: '', FORMAT: 'image/png', TRANSPARENT: true, VERSION: '1.3.0' },
    }),
    visible: false,
    zIndex: 10 + (order++),
  });
}

// titles typed with ' in a config are shown with the Ukrainian apostrophe, as on the node's other pages
const apostrophes = (text) => text.replace(/(?<=\p{L})['ʼ`‘](?=\p{L})/gu, '’');

function leaves(layer, theme, out) {
  // MapServer nests a node's layers in one group per theme; any depth is read the same way
  const children = layer.Layer || [];
  if (layer.Name && children.length === 0) out.push({ name: layer.Name,
    title: cfg.titles[layer.Name] || apostrophes(layer.Title || layer.Name),
    queryable: Boolean(layer.queryable), theme: theme || 'other' });
  for (const child of children) leaves(child, layer.Name && children.length ? layer.Name : theme, out);
  return out;
}

function layerRow(item) {
  const id = `layer-${item.name}`;
  const row = document.createElement('div');
  row.className = 'mv-layer';
  const check = document.createElement('div');
  check.className = 'mv-check';
  const box = document.createElement('input');
  box.type = 'checkbox'; box.id = id; box.value = item.name;
  const label = document.createElement('label');
  label.htmlFor = id; label.textContent = item.title;
  check.append(box, label);

  const opacity = document.createElement('div');
  opacity.className = 'mv-opacity';
  const rlabel = document.createElement('label');
  rlabel.htmlFor = `${id}-opacity`; rlabel.textContent = t.opacity;
  const range = document.createElement('input');
  range.type = 'range'; range.id = `${id}-opacity`; range.min = '0'; range.max = '100'; range.step = '10';
  range.value = '100';
  range.setAttribute('aria-valuetext', '100 %');
  opacity.append(rlabel, range);

  const legend = document.createElement('div');
  legend.className = 'mv-legend';
  const layer = wmsLayer(item.name);
  const showLegend = () => {
    legend.hidden = !box.checked;
    opacity.hidden = !box.checked;
    if (box.checked && !legend.firstChild) {
      const img = document.createElement('img');
      img.alt = `${t.legend}: ${item.title}`;
      img.loading = 'lazy';
      img.src = layer.getSource().getLegendUrl(undefined, { SLD_VERSION: '1.1.0' });
      legend.append(img);
    }
  };
  box.addEventListener('change', () => { layer.setVisible(box.checked); showLegend(); saveState(); });
  range.addEventListener('input', () => {
    layer.setOpacity(Number(range.value) / 100);
    range.setAttribute('aria-valuetext', `${range.value} %`);
    saveState();
  });
  row.append(check, opacity, legend);
  map.addLayer(layer);
  wms.set(item.name, { layer, title: item.title, queryable: item.queryable, box, range, sync: showLegend });
  showLegend();
  return row;
}

async function loadLayers() {
  const resp = await fetch(`${cfg.ows}?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities`,
    { credentials: 'same-origin' });
  if (!resp.ok) throw new Error(`GetCapabilities ${resp.status}`);
  const caps = new WMSCapabilities().read(await resp.text());
  const items = leaves(caps.Capability.Layer, null, []);
  const groups = new globalThis.Map();
  for (const item of items) {
    if (!groups.has(item.theme)) groups.set(item.theme, []);
    groups.get(item.theme).push(item);
  }
  const list = $('layer-list');
  for (const [theme, members] of groups) {
    const set = document.createElement('fieldset');
    const legend = document.createElement('legend');
    legend.textContent = cfg.themes[theme] || theme;
    set.append(legend, ...members.map(layerRow));
    list.append(set);
  }
}

// ---- state in the URL hash -----------------------------------------------------------------------
function stateHash() {
  const [lon, lat] = toLonLat(view.getCenter());
  const on = [...wms.entries()].filter(([, w]) => w.box.checked)
    .map(([name, w]) => (w.range.value === '100' ? name : `${name}:${w.range.value}`));
  const p = new URLSearchParams();
  p.set('map', `${view.getZoom().toFixed(2)}/${lat.toFixed(5)}/${lon.toFixed(5)}`);
  if (on.length) p.set('layers', on.join(','));
  if (!basemap.getVisible() && cfg.tiles) p.set('base', '0');
  return `#${p.toString().replace(/%2C/g, ',').replace(/%2F/g, '/').replace(/%3A/g, ':')}`;
}

let restoring = false;
function saveState() {
  if (restoring) return;
  const hash = stateHash();
  if (hash !== location.hash) history.replaceState(null, '', hash);
  $('share-url').value = location.href;
}

function applyView(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const at = (p.get('map') || '').split('/').map(Number);
  if (at.length === 3 && at.every(Number.isFinite)) {
    view.setZoom(at[0]);
    view.setCenter(fromLonLat([at[2], at[1]]));
  } else {
    view.fit(home, { padding: [20, 20, 20, 20] });
  }
}

function applyState(hash, withView = true) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  restoring = true;
  if (withView) applyView(hash);
  const wanted = new globalThis.Map((p.get('layers') || '').split(',').filter(Boolean).map((s) => {
    const [name, opacity] = s.split(':');
    return [name, opacity === undefined ? 100 : Math.max(0, Math.min(100, Number(opacity) || 0))];
  }));
  for (const [name, w] of wms) {
    w.box.checked = wanted.has(name);
    w.layer.setVisible(w.box.checked);
    const value = wanted.has(name) ? wanted.get(name) : 100;
    w.range.value = String(value);
    w.range.setAttribute('aria-valuetext', `${value} %`);
    w.layer.setOpacity(value / 100);
    w.sync();
  }
  const base = p.get('base') !== '0' && Boolean(cfg.tiles);
  basemap.setVisible(base);
  $('basemap').checked = base;
  restoring = false;
  $('share-url').value = location.href;
}

// ---- identify (GetFeatureInfo, the node's HTML with the original field titles) -------------------
async function identify(coordinate) {
  const body = $('info-body');
  body.replaceChildren(document.createTextNode(t.loading));
  $('info').hidden = false;
  const shown = [...wms.values()].filter((w) => w.box.checked && w.queryable).reverse(); // top first
  // every layer asked at once; an answer that does not come in a minute is reported, not waited for
  const answers = await Promise.all(shown.map(async (w) => {
    const url = w.layer.getSource().getFeatureInfoUrl(coordinate, view.getResolution(), 'EPSG:3857',
      { INFO_FORMAT: 'text/html', FEATURE_COUNT: 10 });
    try {
      const resp = await fetch(url, { credentials: 'same-origin', signal: AbortSignal.timeout(60000) });
      if (!resp.ok) return [document.createTextNode(`${t.error}: ${w.title} (${resp.status})`)];
      const doc = new DOMParser().parseFromString(await resp.text(), 'text/html');
      // only the tables of the node's template: values are HTML-escaped by MapServer, and nothing else
      // of the answer (scripts, attributes) is taken into the page
      return [...doc.querySelectorAll('table')].map(sanitised);
    } catch (e) {
      return [document.createTextNode(`${t.error}: ${w.title}`)];
    }
  }));
  const found = answers.flat();
  body.replaceChildren(...(found.length ? found : [document.createTextNode(t.nothing_here)]));
}

function sanitised(node) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
  const allowed = ['TABLE', 'CAPTION', 'THEAD', 'TBODY', 'TR', 'TH', 'TD'];
  if (!allowed.includes(node.tagName)) return document.createTextNode(node.textContent);
  const el = document.createElement(node.tagName.toLowerCase());
  if (node.tagName === 'TH') el.scope = 'row';
  for (const child of node.childNodes) el.append(sanitised(child));
  return el;
}

// ---- place search ----------------------------------------------------------------------------------
function goTo(place) {
  const box = transformExtent(place.bbox, 'EPSG:4326', 'EPSG:3857');
  view.fit(box, { padding: [40, 40, 40, 40], maxZoom: 13, duration: 0 });
  const name = cfg.lang === 'en' ? place.name_en : place.name;
  status(`${t.moved}: ${name}`);
  saveState();
}

async function findPlace(q) {
  const list = $('place-results');
  list.replaceChildren();
  status(t.loading);
  let doc;
  try {
    const resp = await fetch(`${cfg.places}?q=${encodeURIComponent(q)}`);
    doc = await resp.json();
    if (!resp.ok) { status(doc.error || t.error); return; }
  } catch (e) { status(t.error); return; }
  if (!doc.places.length) { status(t.none); return; }
  for (const place of doc.places) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'mv-place';
    b.append(document.createTextNode(cfg.lang === 'en' ? `${place.name_en} (${place.name})` : place.name));
    const small = document.createElement('small');
    small.textContent = place.kind[cfg.lang] || place.kind.uk;
    b.append(small);
    b.addEventListener('click', () => goTo(place));
    li.append(b);
    list.append(li);
  }
  goTo(doc.places[0]);
}

// ---- export PNG (every layer is same-origin, so the canvas can be read) ----------------------------
function exportPng() {
  map.once('rendercomplete', () => {
    const size = map.getSize();
    const out = document.createElement('canvas');
    out.width = size[0] * devicePixelRatio;
    out.height = size[1] * devicePixelRatio;
    const ctx = out.getContext('2d');
    ctx.fillStyle = getComputedStyle($('map')).backgroundColor || '#fff';
    ctx.fillRect(0, 0, out.width, out.height);
    for (const canvas of map.getViewport().querySelectorAll('.ol-layer canvas, canvas.ol-layer')) {
      if (canvas.width === 0) continue;
      const opacity = canvas.parentNode.style.opacity || canvas.style.opacity;
      ctx.globalAlpha = opacity === '' ? 1 : Number(opacity);
      const m = canvas.style.transform.match(/^matrix\(([^(]*)\)$/);
      const matrix = m ? m[1].split(',').map(Number) : [canvas.width / out.width * 0 + 1, 0, 0, 1, 0, 0];
      ctx.setTransform(...matrix);
      ctx.drawImage(canvas, 0, 0);
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    const link = $('export-link');
    link.href = out.toDataURL('image/png');
    link.textContent = t.download;
    link.hidden = false;
    link.focus();
    status(t.exported);
  });
  map.renderSync();
}

// ---- the panel and the controls ----------------------------------------------------------------------
function setPanel(open) {
  $('panel').classList.toggle('mv-closed', !open);
  $('panel-toggle').setAttribute('aria-expanded', String(open));
  map.updateSize();
}

$('panel-toggle').addEventListener('click', () => setPanel($('panel').classList.contains('mv-closed')));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !$('info').hidden) { $('info').hidden = true; $('map').focus(); }
});
$('info-close').addEventListener('click', () => { $('info').hidden = true; $('map').focus(); });
$('basemap').addEventListener('change', (e) => { basemap.setVisible(e.target.checked); saveState(); });
$('place-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = $('place-q').value.trim();
  if (q) findPlace(q);
});
$('identify-centre').addEventListener('click', () => identify(view.getCenter()));
$('export').addEventListener('click', exportPng);
$('copy').addEventListener('click', async () => {
  $('share-url').select();
  try { await navigator.clipboard.writeText($('share-url').value); status(t.copied); } catch (e) { /* selected */ }
});
map.on('singleclick', (e) => identify(e.coordinate));
map.on('moveend', saveState);
// for tests and for a person's script: the map has drawn everything it asked for
map.on('rendercomplete', () => { document.body.dataset.rendered = String(Date.now()); });
map.on('movestart', () => { delete document.body.dataset.rendered; });
window.addEventListener('hashchange', () => applyState(location.hash));

// a phone opens on the map, a wider screen with the panel beside it
setPanel(!window.matchMedia('(max-width: 47.99rem)').matches);
// The hash is read once, before anything can rewrite it: the first moveend of the view set here would
// otherwise save a hash without layers before the capabilities arrive, and the shared layers would be lost.
const opened = location.hash;
restoring = true; // the view at once (no tiles of a default view are fetched); the layers when they are known
applyView(opened);
loadLayers()
  .catch(() => status(t.no_layers))
  .finally(() => {
    applyState(opened, false); // the view is the one set above, or where the person has moved it since
    saveState();
    document.body.dataset.ready = 'true';
  });
