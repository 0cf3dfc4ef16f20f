// A postmortem as one self-contained HTML file: a lane per node (VRRP state, the VIP held
// with its epoch, services up, markers for health changes, alerts, notify scripts and
// notes), windows without a holder and any with two across the top, a zoomable time axis,
// and a table of the events; clicking an event shows its chain of causes. The file makes
// no request (its Content-Security-Policy forbids any), so it can be mailed or archived.
import { isEvent, summarize, type StoredEvent } from '../../shared/eventlog/index.js';
import type { History } from '../../shared/postmortem/history.js';
import type { Move, Report } from '../../shared/postmortem/report.js';

/** Rows of the table at most; a longer window is cut to its newest rows (narrow it with --since/--until). */
export const HTML_EVENT_LIMIT = 20_000;

const SERVICES = ['vrrp', 'fence', 'health', 'ipvs', 'relay'] as const;
const MARKED: Record<string, string> = { 'health.changed': 'health', 'relay.alert': 'alert', 'operator.note': 'note', 'relay.notify_ran': 'notify', 'fence.lease_denied': 'denied' };

interface Row {
  /** node, seq, at (corrected ms), type, subject, summary, cause (row index or -1), marker kind or '' */
  n: string;
  s: number;
  t: number;
  y: string;
  j: string;
  w: string;
  c: number;
  m: string;
}

interface Segment {
  n: string;
  a: number;
  b: number | null;
  v: string;
}

function rowsOf(h: History, events: readonly StoredEvent[], from: number, to: number): { rows: Row[]; total: number; index: Map<string, number> } {
  const inWindow = events.filter((e) => {
    const at = h.time(e.node, e.ts);
    return at >= from && at <= to;
  });
  inWindow.sort((a, b) => h.time(a.node, a.ts) - h.time(b.node, b.ts) || a.node.localeCompare(b.node) || a.seq - b.seq);
  const shown = inWindow.slice(-HTML_EVENT_LIMIT);
  // A chain leads to causes outside the window or the cut: they come along.
  const all = new Map<string, StoredEvent>();
  for (const e of shown) all.set(`${e.node}#${e.seq}`, e);
  for (const e of shown) {
    let at: StoredEvent | undefined = e;
    for (let i = 0; at && at.causation !== null && i < 16; i++) {
      const cause = h.event(at.node, at.causation);
      if (!cause || all.has(`${cause.node}#${cause.seq}`)) break;
      all.set(`${cause.node}#${cause.seq}`, cause);
      at = cause;
    }
  }
  const list = [...all.values()].sort((a, b) => h.time(a.node, a.ts) - h.time(b.node, b.ts) || a.node.localeCompare(b.node) || a.seq - b.seq);
  const index = new Map(list.map((e, i) => [`${e.node}#${e.seq}`, i]));
  const rows = list.map((e): Row => ({
    n: e.node, s: e.seq, t: h.time(e.node, e.ts), y: e.type, j: e.subject, w: summarize(e),
    c: e.causation !== null ? index.get(`${e.node}#${e.causation}`) ?? -1 : -1,
    m: MARKED[e.type] ?? '',
  }));
  return { rows, total: inWindow.length, index };
}

/** VRRP state per node and instance, and services running per node, as segments on the time axis. */
function lanes(h: History, events: readonly StoredEvent[]): { vrrp: Segment[]; services: Segment[] } {
  const sorted = [...events].sort((a, b) => h.time(a.node, a.ts) - h.time(b.node, b.ts));
  const vrrp: Segment[] = [];
  const openVrrp = new Map<string, Segment>();
  const services: Segment[] = [];
  const openService = new Map<string, Segment>();
  const endVrrp = (node: string, at: number) => {
    for (const [k, seg] of openVrrp) {
      if (seg.n !== node) continue;
      seg.b = at;
      openVrrp.delete(k);
    }
  };
  for (const e of sorted) {
    const at = h.time(e.node, e.ts);
    if (isEvent(e, 'vrrp.state_changed')) {
      const k = `${e.node}|${e.data.instance}`;
      const o = openVrrp.get(k);
      if (o) o.b = at;
      const s = { n: e.node, a: at, b: null, v: `${e.data.instance} ${e.data.to}` };
      vrrp.push(s);
      openVrrp.set(k, s);
    } else if (isEvent(e, 'service.started', 'service.stopped', 'relay.service_lost')) {
      const name = e.data.service;
      const k = `${e.node}|${name}`;
      const o = openService.get(k);
      if (o) {
        o.b = at;
        openService.delete(k);
      }
      if (name === 'vrrp' && e.type !== 'service.started') endVrrp(e.node, at);
      if (e.type === 'service.started') {
        if (name === 'vrrp') endVrrp(e.node, at); // a restart after a crash: the old states ended unrecorded
        const s = { n: e.node, a: at, b: null, v: name };
        services.push(s);
        openService.set(k, s);
      }
    } else if (isEvent(e, 'relay.node_changed') && e.data.change === 'left' && e.node !== e.data.node) {
      // a peer saw this node's fence (or relay) session end: a crash the node could not record
      const k = `${e.data.node}|${e.data.service ?? 'fence'}`;
      const o = openService.get(k);
      if (o) {
        o.b = at;
        openService.delete(k);
      }
    }
  }
  return { vrrp, services };
}

const json = (x: unknown) => JSON.stringify(x).replace(/</g, '\\u003c');

export function reportHtml(r: Report, h: History, events: readonly StoredEvent[]): string {
  const { rows, total, index } = rowsOf(h, events, r.window.from, r.window.to);
  const moves: Record<number, Move> = {};
  for (const g of r.groups) for (const m of g.moves) {
    const i = index.get(`${m.why[0]!.node}#${m.why[0]!.seq}`);
    if (i !== undefined) moves[i] = m;
  }
  const data = {
    window: r.window,
    nodes: r.nodes.map((n) => n.node),
    groups: r.groups.map((g) => ({ group: g.group, tenures: g.tenures, unowned: g.unowned, overlaps: g.overlaps, totals: g.totals })),
    clocks: r.clocks,
    lanes: lanes(h, events),
    services: SERVICES,
    rows,
    total,
    moves,
    alerts: r.alerts.length,
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>vigil postmortem ${new Date(r.window.from).toISOString()}</title>
<style>${CSS}</style></head>
<body>
<header><h1>vigil postmortem</h1><div id="summary"></div>
<div class="tools"><button id="zin">zoom in</button><button id="zout">zoom out</button><button id="zreset">whole window</button>
<span class="hint">wheel: zoom at the pointer · drag: pan · click an event: its chain</span></div></header>
<div id="chart"><svg id="svg" role="img" aria-label="timeline"></svg></div>
<div id="legend"></div>
<main><section id="table-wrap"><input id="filter" placeholder="filter events (node, type, text)"><div id="count"></div>
<table id="events"><thead><tr><th>time (UTC)</th><th>node</th><th>#</th><th>type</th><th>what</th></tr></thead><tbody></tbody></table></section>
<aside id="chain"><h2>Chain of causes</h2><p class="muted">Click an event in the timeline or the table.</p></aside></main>
<script type="application/json" id="data">${json(data)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

const CSS = `
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
header{padding:10px 16px;border-bottom:1px solid #dde}
h1{font-size:18px;margin:0 0 4px}h2{font-size:14px;margin:0 0 8px}
#summary{color:#444}.tools{margin-top:6px}.tools button{margin-right:6px}.hint{color:#777;margin-left:8px}
#chart{padding:4px 16px;overflow:hidden}svg{width:100%;display:block;cursor:grab;user-select:none}
#legend{padding:0 16px 6px;color:#555}#legend span{display:inline-block;margin-right:14px}
#legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
main{display:flex;gap:12px;padding:0 16px 16px}#table-wrap{flex:3;min-width:0}#chain{flex:2;min-width:0;border-left:1px solid #dde;padding-left:12px}
#filter{width:100%;box-sizing:border-box;padding:4px;margin-bottom:4px}#count{color:#777;margin-bottom:4px}
table{border-collapse:collapse;width:100%;font:12px/1.3 ui-monospace,monospace}th{text-align:left;background:#eef;position:sticky;top:0}
td,th{padding:2px 6px;border-bottom:1px solid #eee;vertical-align:top}tbody tr{cursor:pointer}tbody tr:hover{background:#f0f4ff}
tr.sel{background:#ffe9a8!important}#table-wrap{max-height:60vh;overflow:auto}
.muted{color:#777}.link{margin:0 0 6px;padding:4px 6px;background:#fff;border:1px solid #dde;border-radius:4px;font:12px/1.3 ui-monospace,monospace}
.link .t{color:#555}.arrow{color:#999;margin:0 0 2px 8px}.warn{color:#b00;font-weight:bold}
`;

// The page's script: draws the lanes into the SVG, keeps the zoom, fills the table and the chain panel.
const SCRIPT = String.raw`
const D = JSON.parse(document.getElementById('data').textContent);
const svg = document.getElementById('svg');
const NS = 'http://www.w3.org/2000/svg';
const COLORS = {MASTER:'#2e9d4f',BACKUP:'#9aa5b1',FAULT:'#d64545',INIT:'#d9dde3',STOPPED:'#e8e8e8'};
const MARK = {health:'#e08a00',alert:'#d42020',note:'#7a3fc7',notify:'#138a8a',denied:'#b05a00'};
const iso = (t) => new Date(Math.round(t)).toISOString().replace('T',' ').replace('Z','');
const dur = (ms) => Math.abs(ms) < 1000 ? Math.round(ms)+' ms' : (ms/1000).toFixed(2)+' s';
let t0 = D.window.from, t1 = Math.max(D.window.to, D.window.from + 1);
const LEFT = 90, ROW = 14, LANE = ROW*4 + 12, TOP = 34 + D.groups.length*18;
let selected = -1;

function el(name, attrs, parent){ const e = document.createElementNS(NS, name); for (const k in attrs) e.setAttribute(k, attrs[k]); (parent||svg).appendChild(e); return e; }
function width(){ return svg.clientWidth || 1000; }
function x(t){ return LEFT + (t - t0) / (t1 - t0) * (width() - LEFT - 10); }
function span(a, b, y, h, fill, title, parent){
  const xa = Math.max(LEFT, x(a)), xb = Math.min(width() - 10, x(b == null ? D.window.to : b));
  if (xb < LEFT || xa > width() - 10 || xb - xa < 0) return;
  const r = el('rect', {x: xa, y, width: Math.max(1, xb - xa), height: h, fill}, parent);
  const tt = el('title', {}, r); tt.textContent = title; return r;
}
function draw(){
  svg.textContent = '';
  const H = TOP + D.nodes.length*LANE + 10; svg.setAttribute('height', H);
  // time axis
  const steps = [1,2,5,10,20,50,100,200,500,1000,2000,5000,10000,30000,60000,120000,300000,600000,1800000,3600000,7200000,21600000,86400000];
  const step = steps.find((s) => (t1 - t0) / s <= 10) || 86400000;
  for (let t = Math.ceil(t0/step)*step; t <= t1; t += step){
    el('line', {x1:x(t), x2:x(t), y1:20, y2:H, stroke:'#e3e6ea'});
    const lab = el('text', {x:x(t)+2, y:14, 'font-size':10, fill:'#666'}); lab.textContent = step < 1000 ? iso(t).slice(11,23) : iso(t).slice(11,19);
  }
  // per group: holders, windows without one, overlaps
  D.groups.forEach((g, gi) => {
    const y = 24 + gi*18;
    const lab = el('text', {x:4, y:y+11, 'font-size':11, 'font-weight':'bold'}); lab.textContent = g.group;
    for (const u of g.unowned) { const r = span(u.from, u.to, y, 14, 'url(#hatch)', 'nobody held ' + g.group + ' for ' + dur(u.ms)); if (r) r.setAttribute('class','unowned'); }
    for (const t of g.tenures) { const r = span(t.from, t.to, y+3, 8, '#3b6fd1', g.group + ' held by ' + t.node + ' (epoch ' + t.epoch + ')'); if (r) r.setAttribute('class','held'); }
    for (const o of g.overlaps) { const r = span(o.from, o.to, y, 14, '#ff0000', 'TWO HOLDERS: ' + o.a.node + ' and ' + o.b.node + ' for ' + dur(o.ms)); if (r) r.setAttribute('class','overlap'); }
  });
  const defs = el('defs', {}); const p = el('pattern', {id:'hatch', width:6, height:6, patternUnits:'userSpaceOnUse', patternTransform:'rotate(45)'}, defs);
  el('rect', {width:6, height:6, fill:'#fde2e2'}, p); el('line', {x1:0, y1:0, x2:0, y2:6, stroke:'#d64545', 'stroke-width':2}, p);
  D.nodes.forEach((n, i) => {
    const y = TOP + i*LANE;
    const g = el('g', {'data-node': n, class: 'lane'});
    el('rect', {x:0, y:y-4, width:width(), height:LANE-4, fill: i % 2 ? '#f3f5f8' : '#fff'}, g);
    const lab = el('text', {x:4, y:y+ROW, 'font-size':13, 'font-weight':'bold'}, g); lab.textContent = n;
    const sub = (k, txt) => { const s = el('text', {x:30, y:y+k*ROW+10, 'font-size':9, fill:'#777'}, g); s.textContent = txt; };
    sub(0,'vrrp'); sub(1,'vip'); sub(2,'services'); sub(3,'events');
    for (const s of D.lanes.vrrp) if (s.n === n) { const st = s.v.split(' ').pop(); span(s.a, s.b, y, ROW-3, COLORS[st]||'#ccc', s.v + ' from ' + iso(s.a), g); }
    for (const gr of D.groups) for (const t of gr.tenures) if (t.node === n) {
      const r = span(t.from, t.to, y+ROW, ROW-3, '#3b6fd1', gr.group + ' epoch ' + t.epoch + ' from ' + iso(t.from) + (t.to ? ' to ' + iso(t.to) : ''), g);
      if (r && x(t.to == null ? D.window.to : t.to) - x(t.from) > 40) { const l = el('text', {x:Math.max(LEFT, x(t.from))+3, y:y+ROW+9, 'font-size':9, fill:'#fff'}, g); l.textContent = gr.group + ' e' + t.epoch; }
    }
    const svcs = D.lanes.services.filter((s) => s.n === n);
    D.services.forEach((name, k) => { for (const s of svcs) if (s.v === name) span(s.a, s.b, y+2*ROW + k*2, 2, '#6c8f3d', name + ' running from ' + iso(s.a), g); });
    D.rows.forEach((r, ri) => {
      if (r.n !== n || !r.m) return;
      const cx = x(r.t); if (cx < LEFT || cx > width()-10) return;
      const m = el('path', {d:'M'+cx+' '+(y+3*ROW)+' l4 8 l-8 0 z', fill:MARK[r.m], class:'marker', 'data-row':ri, stroke: ri === selected ? '#000' : 'none'}, g);
      const tt = el('title', {}, m); tt.textContent = iso(r.t) + ' ' + r.n + ' ' + r.y + ': ' + r.w;
      m.addEventListener('click', (ev) => { ev.stopPropagation(); select(ri); });
    });
  });
}
function legend(){
  const items = [['MASTER',COLORS.MASTER],['BACKUP',COLORS.BACKUP],['FAULT',COLORS.FAULT],['VIP held','#3b6fd1'],['service running','#6c8f3d'],['health change',MARK.health],['alert',MARK.alert],['notify script',MARK.notify],['operator note',MARK.note],['lease denied',MARK.denied],['nobody held the VIP','#f4a6a6'],['two holders','#ff0000']];
  document.getElementById('legend').innerHTML = items.map(([k,c]) => '<span><i style="background:'+c+'"></i>'+k+'</span>').join('');
}
function summary(){
  const parts = D.groups.map((g) => g.group + ': ' + g.totals.moves + ' change(s) of holder, nobody held it ' + dur(g.totals.unownedMs) + ' in ' + g.totals.windows + ' window(s)' + (g.overlaps.length ? ' — <span class="warn">TWO HOLDERS AT ONCE ' + g.overlaps.length + ' time(s)</span>' : ', never two holders'));
  document.getElementById('summary').innerHTML = iso(D.window.from) + ' .. ' + iso(D.window.to) + ' UTC · nodes ' + D.nodes.join(', ') + ' · ' + D.alerts + ' alert(s)<br>' + parts.join('<br>');
}
const tbody = document.querySelector('#events tbody');
function fillTable(){
  const f = document.getElementById('filter').value.toLowerCase();
  const out = [];
  let shown = 0;
  D.rows.forEach((r, i) => {
    if (f && !(r.n + ' ' + r.y + ' ' + r.w + ' ' + r.j).toLowerCase().includes(f)) return;
    shown++;
    if (shown > 5000) return;
    out.push('<tr data-row="'+i+'"'+(i===selected?' class="sel"':'')+'><td>'+iso(r.t).slice(11)+'</td><td>'+esc(r.n)+'</td><td>'+r.s+'</td><td>'+esc(r.y)+'</td><td>'+esc(r.w)+'</td></tr>');
  });
  tbody.innerHTML = out.join('');
  document.getElementById('count').textContent = shown + ' event(s)' + (shown > 5000 ? ', the first 5000 listed: filter to see others' : '') + (D.total > D.rows.length ? '; the window has ' + D.total + ', the newest ' + D.rows.length + ' are here (narrow --since/--until)' : '');
}
function esc(s){ return String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c])); }
function linkHtml(r){ return '<div class="link"><span class="t">' + iso(r.t).slice(11) + '</span> <b>' + esc(r.n) + '</b> #' + r.s + ' ' + esc(r.y) + '<br>' + esc(r.w) + '</div>'; }
function chainOf(i){ const out = []; let at = i; while (at >= 0 && out.length < 16 && !out.includes(at)) { out.push(at); at = D.rows[at].c; } return out; }
function select(i){
  selected = i;
  const rows = chainOf(i).map((k) => D.rows[k]);
  let html = '<h2>Chain of causes</h2>' + rows.map(linkHtml).join('<div class="arrow">&uarr; caused by</div>');
  const m = D.moves[i];
  if (m) {
    html += '<h2>Why ' + esc(m.to.node) + ' held it (epoch ' + m.to.epoch + ')</h2>' + m.why.map((l) => linkHtml({t:l.at,n:l.node,s:l.seq,y:l.type,w:l.summary})).join('<div class="arrow">&uarr; caused by</div>');
    if (m.from) {
      html += '<h2>Before: ' + esc(m.from.node) + ' (epoch ' + m.from.epoch + '); nobody held it for ' + dur(m.unownedMs) + '</h2>';
      if (m.from.end) html += '<p>' + esc(m.from.end.how === 'lifetime' ? 'the kernel dropped its addresses: ' : 'unbound: ') + esc(m.from.end.reason) + '</p>';
      html += m.previousEnd.map((l) => linkHtml({t:l.at,n:l.node,s:l.seq,y:l.type,w:l.summary})).join('<div class="arrow">&uarr; caused by</div>');
      if (m.around.length) html += '<h2>Around its end</h2>' + m.around.map((l) => linkHtml({t:l.at,n:l.node,s:l.seq,y:l.type,w:l.summary})).join('');
    }
  }
  document.getElementById('chain').innerHTML = html;
  fillTable(); draw();
  const tr = tbody.querySelector('tr[data-row="'+i+'"]'); if (tr) tr.scrollIntoView({block:'nearest'});
}
tbody.addEventListener('click', (ev) => { const tr = ev.target.closest('tr'); if (tr) select(Number(tr.dataset.row)); });
document.getElementById('filter').addEventListener('input', fillTable);
function zoom(f, at){ const c = at ?? (t0 + t1)/2; const n0 = c - (c - t0)*f, n1 = c + (t1 - c)*f; if (n1 - n0 < 5) return; t0 = n0; t1 = n1; draw(); }
document.getElementById('zin').onclick = () => zoom(0.5);
document.getElementById('zout').onclick = () => zoom(2);
document.getElementById('zreset').onclick = () => { t0 = D.window.from; t1 = Math.max(D.window.to, D.window.from + 1); draw(); };
svg.addEventListener('wheel', (ev) => { ev.preventDefault(); const r = svg.getBoundingClientRect(); const t = t0 + (ev.clientX - r.left - LEFT)/(width()-LEFT-10)*(t1-t0); zoom(ev.deltaY < 0 ? 0.8 : 1.25, t); }, {passive:false});
let drag = null;
svg.addEventListener('mousedown', (ev) => { drag = {x: ev.clientX, t0, t1}; });
window.addEventListener('mouseup', () => { drag = null; });
window.addEventListener('mousemove', (ev) => { if (!drag) return; const dt = (ev.clientX - drag.x)/(width()-LEFT-10)*(drag.t1-drag.t0); t0 = drag.t0 - dt; t1 = drag.t1 - dt; draw(); });
window.addEventListener('resize', draw);
legend(); summary(); fillTable(); draw();
`;
