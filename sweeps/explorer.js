/* tasim explorer page (sweeps/explorer.py inlines this file, plotly.js and the data). No network. */
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
  const PC_MAX = 5000;
  const PC_DIMS = 8;  // the spec's objectives first, then other metrics up to this many axes  // parallel coordinates: at most this many lines (a stride sample); filters use all

  function b64bytes(s) {
    if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(s);
    const bin = atob(s);
    const u = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    return u;
  }
  async function gunzip(u) {
    const stream = new Blob([u]).stream().pipeThrough(new DecompressionStream('gzip'));
    return await new Response(stream).arrayBuffer();
  }

  // ---- number formatting in human units ----------------------------------------------------------
  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
    if (v === 0) return '0';
    const a = Math.abs(v);
    if (a >= 1e7 || a < 1e-3) return v.toExponential(3).replace(/\.?0+e/, 'e');
    if (a >= 1e3) return v.toLocaleString('en-US', {maximumSignificantDigits: 4});
    let s = v.toPrecision(4);
    if (s.indexOf('.') >= 0 && s.indexOf('e') < 0) s = s.replace(/\.?0+$/, '');
    return s;
  }
  function fmtVal(v) { return typeof v === 'number' ? fmt(v) : (v === null ? '—' : String(v)); }

  // colours: one per value of a categorical column, used everywhere on the page
  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
    '#bcbd22', '#17becf', '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2',
    '#c7c7c7', '#dbdb8d', '#9edae5'];
  function paletteColor(k, n) {
    if (n <= PALETTE.length) return PALETTE[k];
    const h = (k * 137.508) % 360;
    return `hsl(${h.toFixed(1)},${55 + (k % 3) * 15}%,${40 + (k % 4) * 8}%)`;
  }

  const T = {start: performance.now()};
  const mark = (k) => { if (!(k in T)) T[k] = Math.round(performance.now() - T.start); };
  async function main() {
    const H = JSON.parse($('tasim-header').textContent);
    const N = H.n;
    const raw = await gunzip(b64bytes($('tasim-data').textContent.trim()));
    const TYPES = {float64: Float64Array, float32: Float32Array, uint8: Uint8Array, uint16: Uint16Array};
    const sec = {};
    const bytes = new Uint8Array(raw);
    for (const L of H.layout) {
      const T_ = TYPES[L.dtype];
      if (!L.shuffle) { sec[L.name] = new T_(raw, L.offset, L.length); continue; }
      const w = T_.BYTES_PER_ELEMENT, n = L.length, out = new Uint8Array(n * w);
      for (let b = 0; b < w; b++) {
        const plane = bytes.subarray(L.offset + b * n, L.offset + (b + 1) * n);
        for (let i = 0, j = b; i < n; i++, j += w) out[j] = plane[i];
      }
      sec[L.name] = new T_(out.buffer);
    }
    mark('decoded');

    const HEX = Array.from({length: 256}, (_, i) => i.toString(16).padStart(2, '0'));
    const ids = new Array(N);
    const idb = sec.ids;
    for (let i = 0; i < N; i++) {
      let s = '';
      for (let j = 0; j < 8; j++) s += HEX[idb[i * 8 + j]];
      ids[i] = s;
    }
    const idIndex = new Map();
    for (let i = 0; i < N; i++) idIndex.set(ids[i], i);
    mark('ids');

    const COL = {};
    for (const c of H.columns) {
      c.data = sec['c:' + c.name];
      if (c.kind === 'cat' && !c.colors) c.colors = c.values.map((_, k) => paletteColor(k, c.values.length));
      if (c.kind === 'num') {
        let lo = Infinity, hi = -Infinity;
        for (let i = 0; i < N; i++) { const v = c.data[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
        c.min = lo; c.max = hi;
        c.logDefault = lo > 0 && hi / lo > 20;
      }
      COL[c.name] = c;
    }
    const OBJ = H.columns.filter((c) => c.role === 'objective');
    const CATS = H.columns.filter((c) => c.kind === 'cat');
    const RANGED = H.columns.filter((c) => c.kind === 'num');
    const DESIGN = H.columns.filter((c) => c.role !== 'objective');
    const OPK = H.op_kinds || [];
    const BL = sec['b:latency_s'], BE = sec['b:energy_pj'];

    const hdr = (c) => c.header || c.label || c.name;  // label with the human unit (metric registry)
    const human = (c, v) => v * (c.scale || 1);
    const valueText = (c, i) => c.kind === 'cat' ? fmtVal(c.values[c.data[i]]) : fmt(human(c, c.data[i]));
    const axisTitle = (c) => hdr(c) + (c.sense ? `  [${c.sense === 'min' ? 'lower' : 'higher'} is better]` : '');

    // ---- state ---------------------------------------------------------------------------------
    const S = {
      x: H.default_x, y: H.default_y, color: H.default_color, frontBy: '',
      xlog: false, ylog: false,
      allowed: {}, range: {}, useConstraints: true,
      sel: [], detail: null, sortCol: null, sortDir: 1,
    };
    for (const c of CATS) S.allowed[c.name] = new Uint8Array(c.values.length).fill(1);
    const cons = (H.constraints || []).filter((k) => COL[k.column]);
    const OPS = {'<=': (a, b) => a <= b, '>=': (a, b) => a >= b, '<': (a, b) => a < b, '>': (a, b) => a > b,
      '==': (a, b) => a === b, '!=': (a, b) => a !== b};

    // ---- selection (all filters together) -------------------------------------------------------
    function baseMask(withRanges) {
      const m = new Uint8Array(N).fill(1);
      for (const c of CATS) {
        const al = S.allowed[c.name];
        if (al.every((x) => x)) continue;
        const d = c.data;
        for (let i = 0; i < N; i++) if (!al[d[i]]) m[i] = 0;
      }
      if (S.useConstraints) {
        for (const k of cons) {
          const d = COL[k.column].data, op = OPS[k.op], val = k.value;
          for (let i = 0; i < N; i++) { const v = d[i]; if (Number.isNaN(v) || !op(v, val)) m[i] = 0; }
        }
      }
      if (withRanges) {
        for (const name in S.range) {
          const r = S.range[name];
          if (!r) continue;
          const d = COL[name].data, lo = r[0], hi = r[1];
          for (let i = 0; i < N; i++) { const v = d[i]; if (!(v >= lo && v <= hi)) m[i] = 0; }
        }
      }
      return m;
    }
    function indicesOf(m) {
      let k = 0;
      for (let i = 0; i < N; i++) k += m[i];
      const out = new Int32Array(k);
      k = 0;
      for (let i = 0; i < N; i++) if (m[i]) out[k++] = i;
      return out;
    }

    // ---- Pareto front: the same algorithm as sweeps/pareto.py (k = 2) ------------------------------
    function parseObjective(text) {
      let name = String(text).trim(), sense = null;
      if (name.startsWith('-')) { name = name.slice(1); sense = 'max'; }
      else if (name.indexOf(':') >= 0) { [name, sense] = name.split(':'); }
      const c = COL[name];
      if (!c || c.kind !== 'num') throw new Error(`unknown objective ${name}`);
      return {c, sense: sense || c.sense || 'min'};
    }
    // one front per value of a categorical column (as tasim pareto --by), or one over everything
    function groupedFront(idx, xo, yo, by) {
      if (!by) return [paretoIndices(idx, xo, yo)];
      const c = COL[by];
      if (!c || c.kind !== 'cat') throw new Error(`cannot group fronts by ${by}`);
      const parts = c.values.map(() => []), d = c.data;
      for (const i of idx) parts[d[i]].push(i);
      return parts.filter((p) => p.length).map((p) => paretoIndices(p, xo, yo));
    }
    function paretoIndices(idx, xo, yo) {
      const X = xo.c.data, Y = yo.c.data;
      const sx = xo.sense === 'max' ? -1 : 1, sy = yo.sense === 'max' ? -1 : 1;
      const pts = [];
      for (const i of idx) {
        const a = X[i], b = Y[i];
        if (!Number.isNaN(a) && !Number.isNaN(b)) pts.push(i);
      }
      const f1 = (i) => sx * X[i], f2 = (i) => sy * Y[i];
      pts.sort((i, j) => { const a = f1(i), b = f1(j); if (a < b) return -1; if (a > b) return 1;
        const c = f2(i), d = f2(j); return c < d ? -1 : c > d ? 1 : 0; });
      const out = [];
      let prevMin = Infinity;
      let g = 0;
      while (g < pts.length) {  // groups of identical points
        let h = g + 1;
        const a = f1(pts[g]), b = f2(pts[g]);
        while (h < pts.length && f1(pts[h]) === a && f2(pts[h]) === b) h++;
        if (prevMin > b) for (let t = g; t < h; t++) out.push(pts[t]);
        if (b < prevMin) prevMin = b;
        g = h;
      }
      return out;
    }

    // ---- controls ---------------------------------------------------------------------------------
    function fillSelect(sel, cols, value) {
      sel.innerHTML = cols.map((c) => `<option value="${esc(c.name)}">${esc(hdr(c) === c.name ? c.name : `${hdr(c)} — ${c.name}`)}</option>`).join('');
      sel.value = value;
    }
    fillSelect($('x-select'), OBJ, S.x);
    fillSelect($('y-select'), OBJ, S.y);
    const colorCols = CATS.filter((c) => c.values.length > 1);
    fillSelect($('color-select'), colorCols, S.color);
    S.xlog = !!(COL[S.x] && COL[S.x].logDefault);
    S.ylog = !!(COL[S.y] && COL[S.y].logDefault);
    $('x-log').checked = S.xlog;
    $('y-log').checked = S.ylog;
    $('x-select').onchange = (e) => { S.x = e.target.value; S.xlog = COL[S.x].logDefault; $('x-log').checked = S.xlog; update(false); };
    $('y-select').onchange = (e) => { S.y = e.target.value; S.ylog = COL[S.y].logDefault; $('y-log').checked = S.ylog; update(false); };
    $('x-log').onchange = (e) => { S.xlog = e.target.checked; update(false); };
    $('y-log').onchange = (e) => { S.ylog = e.target.checked; update(false); };
    $('color-select').onchange = (e) => { S.color = e.target.value; update(true); };
    $('front-by').innerHTML = '<option value="">all shown points</option>' +
      colorCols.map((c) => `<option value="${esc(c.name)}">${esc(c.name)}</option>`).join('');
    $('front-by').onchange = (e) => { S.frontBy = e.target.value; update(false); };
    $('use-constraints').onchange = (e) => { S.useConstraints = e.target.checked; update(true); };
    $('constraints-text').textContent = cons.length ? `apply the sweep's constraints: ${cons.map((k) => k.text).join(', ')}` : 'the sweep has no constraints';
    if (!cons.length) $('use-constraints').disabled = true;
    $('reset').onclick = () => {
      for (const c of CATS) S.allowed[c.name].fill(1);
      S.range = {};
      S.useConstraints = true;
      $('use-constraints').checked = cons.length > 0;
      buildFilters();
      update(true);
    };
    $('clear-selection').onclick = () => { S.sel = []; S.detail = null; drawDetail(); drawCompare(); update(false); };
    $('export-csv').onclick = () => {
      const blob = new Blob([frontCSV()], {type: 'text/csv'});
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `front-${S.x}-${S.y}.csv`;
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    };

    // ---- filters panel -------------------------------------------------------------------------------
    let counts = {};
    function buildFilters() {
      const parts = [];
      for (const c of CATS) {
        if (c.values.length < 2) continue;
        const al = S.allowed[c.name];
        parts.push(`<fieldset data-col="${esc(c.name)}"><legend>${esc(c.name)} <small>(${c.role})</small></legend>` +
          c.values.map((v, k) => `<label><input type="checkbox" data-col="${esc(c.name)}" data-k="${k}"${al[k] ? ' checked' : ''}>` +
            `<span class="sw" style="background:${c.name === S.color ? c.colors[k] : 'transparent'}"></span>${esc(fmtVal(v))} ` +
            `<span class="count" data-count="${esc(c.name)}:${k}"></span></label>`).join('') + '</fieldset>');
      }
      for (const c of RANGED) {
        const r = S.range[c.name];
        const lo = r && Number.isFinite(r[0]) ? fmt(human(c, r[0])) : '', hi = r && Number.isFinite(r[1]) ? fmt(human(c, r[1])) : '';
        parts.push(`<fieldset class="range"><legend>${esc(hdr(c))}${hdr(c) !== c.name ? ` <small>${esc(c.name)}</small>` : ''}</legend>` +
          `<input type="number" step="any" data-range="${esc(c.name)}" data-end="0" placeholder="${fmt(human(c, c.min))}" value="${lo}"> – ` +
          `<input type="number" step="any" data-range="${esc(c.name)}" data-end="1" placeholder="${fmt(human(c, c.max))}" value="${hi}"></fieldset>`);
      }
      $('filter-groups').innerHTML = parts.join('');
      for (const box of $('filter-groups').querySelectorAll('input[type=checkbox]')) {
        box.onchange = () => { S.allowed[box.dataset.col][+box.dataset.k] = box.checked ? 1 : 0; update(true); };
      }
      for (const inp of $('filter-groups').querySelectorAll('input[type=number]')) {
        inp.onchange = () => {
          const c = COL[inp.dataset.range];
          const ends = $('filter-groups').querySelectorAll(`input[data-range="${CSS.escape(c.name)}"]`);
          const lo = ends[0].value === '' ? -Infinity : +ends[0].value / (c.scale || 1);
          const hi = ends[1].value === '' ? Infinity : +ends[1].value / (c.scale || 1);
          S.range[c.name] = (lo === -Infinity && hi === Infinity) ? null : [lo, hi];
          update(true);
        };
      }
    }
    function updateFilterCounts(m) {
      for (const c of CATS) {
        if (c.values.length < 2) continue;
        const cnt = new Int32Array(c.values.length), d = c.data;
        for (let i = 0; i < N; i++) if (m[i]) cnt[d[i]]++;
        counts[c.name] = cnt;
        for (let k = 0; k < c.values.length; k++) {
          const el = $('filter-groups').querySelector(`[data-count="${CSS.escape(c.name + ':' + k)}"]`);
          if (el) el.textContent = cnt[k].toLocaleString();
        }
      }
    }
    function syncRangeInputs() {
      for (const inp of $('filter-groups').querySelectorAll('input[type=number]')) {
        const c = COL[inp.dataset.range], r = S.range[c.name], v = r ? r[+inp.dataset.end] : null;
        inp.value = v !== null && Number.isFinite(v) ? fmt(human(c, v)) : '';
      }
    }

    // ---- colour -----------------------------------------------------------------------------------------
    function colorsFor(idx) {
      const c = COL[S.color];
      const out = new Array(idx.length);
      if (!c) { out.fill('#4c78a8'); return out; }
      for (let t = 0; t < idx.length; t++) out[t] = c.colors[c.data[idx[t]]];
      return out;
    }
    function drawLegend() {
      const c = COL[S.color];
      if (!c) { $('legend').innerHTML = ''; return; }
      const cnt = counts[c.name] || [];
      const al = S.allowed[c.name];
      $('legend').innerHTML = `<b>${esc(c.name)}</b>` + c.values.map((v, k) =>
        `<div data-k="${k}" class="${al[k] ? '' : 'off'}" title="click: show/hide"><span class="sw" style="background:${c.colors[k]}"></span>${esc(fmtVal(v))} <span class="count">${(cnt[k] || 0).toLocaleString()}</span></div>`).join('');
      for (const el of $('legend').querySelectorAll('div[data-k]')) {
        el.onclick = () => { al[+el.dataset.k] ^= 1; buildFilters(); update(true); };
      }
    }

    // ---- scatter ---------------------------------------------------------------------------------------
    let current = {idx: new Int32Array(0), front: [], mask: null, traces: [[], [], []]};
    function hv(c, idx) {
      const out = new Float64Array(idx.length), d = c.data, s = c.scale || 1;
      for (let t = 0; t < idx.length; t++) out[t] = d[idx[t]] * s;
      return out;
    }
    function drawScatter() {
      const xc = COL[S.x], yc = COL[S.y], idx = current.idx;
      const front = [];  // each group's staircase sorted by x, groups separated by a gap (null)
      for (const g of current.groups || [current.front]) {
        if (front.length) front.push(null);
        front.push(...g.slice().sort((i, j) => xc.data[i] - xc.data[j] || yc.data[i] - yc.data[j]));
      }
      const fx = front.map((i) => (i === null ? null : human(xc, xc.data[i])));
      const fy = front.map((i) => (i === null ? null : human(yc, yc.data[i])));
      const selIdx = S.sel.map((id) => idIndex.get(id));
      current.traces = [idx, front, selIdx];
      const big = idx.length > 20000;
      const traces = [
        {type: 'scattergl', mode: 'markers', name: 'design points', x: hv(xc, idx), y: hv(yc, idx),
          marker: {color: colorsFor(idx), size: big ? 3 : 6, opacity: big ? 0.5 : 0.7}, hoverinfo: 'none'},
        {type: 'scatter', mode: 'lines+markers', name: 'Pareto front', x: fx, y: fy, connectgaps: false,
          line: {shape: parseObjective(S.x).sense === 'min' ? 'hv' : 'vh', color: '#222', width: 1.5},
          marker: {color: colorsFor(front.map((i) => (i === null ? 0 : i))), size: 10, line: {color: '#000', width: 1.5}},
          hoverinfo: 'none'},
        {type: 'scatter', mode: 'markers+text', name: 'selected', x: hv(xc, selIdx), y: hv(yc, selIdx),
          text: selIdx.map((_, k) => 'AB'[k]), textposition: 'top right', textfont: {size: 16, color: '#d62728'},
          marker: {symbol: 'circle-open', size: 20, color: '#d62728', line: {width: 3}}, hoverinfo: 'none'},
      ];
      const layout = {
        margin: {l: 70, r: 10, t: 10, b: 55}, showlegend: false, hovermode: 'closest', dragmode: 'zoom',
        uirevision: `${S.x}|${S.y}|${S.xlog}|${S.ylog}`,
        xaxis: {title: {text: axisTitle(xc)}, type: S.xlog ? 'log' : 'linear', zeroline: false,
          ...(S.xlog ? logTicks(hv(xc, idx)) : {})},
        yaxis: {title: {text: axisTitle(yc)}, type: S.ylog ? 'log' : 'linear', zeroline: false,
          ...(S.ylog ? logTicks(hv(yc, idx)) : {})},
      };
      return Plotly.react('scatter', traces, layout, {displaylogo: false, responsive: true});
    }
    // log axes spanning up to 3 decades: label 1, 2 and 5 of each decade (plotly's default labels every
    // digit there, 2 3 4 ... 9 crowded between the decades); wider spans keep plotly's decade labels
    function logTicks(values) {
      let lo = Infinity, hi = -Infinity;
      for (const v of values) if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      return hi > lo && Math.log10(hi / lo) <= 3 ? {dtick: 'D2'} : {};
    }
    function pointIndexOf(ev) {
      const p = ev && ev.points && ev.points[0];
      if (!p) return null;
      const arr = current.traces[p.curveNumber];
      const k = p.pointIndex !== undefined ? p.pointIndex : p.pointNumber;
      return arr && k !== undefined ? arr[k] : null;
    }

    // ---- tooltip, detail, comparison --------------------------------------------------------------------
    function designRows(i) {
      return DESIGN.map((c) => `<tr><td class="l">${esc(c.name)}</td><td class="l">${esc(valueText(c, i))}</td></tr>`).join('');
    }
    function objectiveRows(i) {
      return OBJ.map((c) => `<tr><td class="l">${esc(hdr(c))}</td><td>${fmt(human(c, c.data[i]))}</td></tr>`).join('');
    }
    function swatch(i) {
      const c = COL[S.color];
      return c ? `<span class="sw" style="background:${c.colors[c.data[i]]}"></span>` : '';
    }
    function tooltipHTML(i) {
      return `<div>${swatch(i)}<b>${ids[i]}</b></div><table>${designRows(i)}` +
        `<tr><td colspan="2"><hr style="margin:2px 0"></td></tr>${objectiveRows(i)}</table>`;
    }
    function showTooltip(i, x, y) {
      const tip = $('tooltip');
      tip.innerHTML = tooltipHTML(i);
      tip.hidden = false;
      const w = tip.offsetWidth, h = tip.offsetHeight;
      tip.style.left = `${Math.max(4, x + 16 + w > innerWidth ? x - w - 16 : x + 16)}px`;
      tip.style.top = `${Math.max(4, Math.min(innerHeight - h - 4, y + 12))}px`;
    }
    function drawDetail() {
      const i = S.detail === null ? undefined : idIndex.get(S.detail);
      if (i === undefined) { $('detail').innerHTML = ''; return; }
      let bd = '';
      if (OPK.length && BL) {
        const lat = OPK.map((_, k) => BL[k * N + i]), en = OPK.map((_, k) => BE[k * N + i]);
        const lt = lat.reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0), et = en.reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0);
        const lc = COL.latency_s || {scale: 1e3, unit: 'ms'}, ec = COL.energy_pj || {scale: 1e-9, unit: 'mJ'};
        bd = `<h3>Breakdown by op kind</h3><table class="breakdown"><thead><tr><th class="l">op kind</th><th>latency (${esc(lc.unit)})</th><th>share</th><th></th>` +
          `<th>energy (${esc(ec.unit)})</th><th>share</th><th></th></tr></thead><tbody>` +
          OPK.map((k, t) => Number.isNaN(lat[t]) ? '' : `<tr><td class="l">${esc(k)}</td><td>${fmt(lat[t] * lc.scale)}</td><td>${fmt(100 * lat[t] / lt)} %</td>` +
            `<td class="l"><span class="bar" style="width:${(100 * lat[t] / lt).toFixed(1)}px"></span></td><td>${fmt(en[t] * ec.scale)}</td>` +
            `<td>${fmt(100 * en[t] / et)} %</td><td class="l"><span class="bar e" style="width:${(100 * en[t] / et).toFixed(1)}px"></span></td></tr>`).join('') +
          `</tbody><tfoot><tr><th class="l">sum</th><th>${fmt(lt * lc.scale)}</th><th></th><th></th><th>${fmt(et * ec.scale)}</th><th></th><th></th></tr></tfoot></table>`;
      }
      const constants = Object.entries(H.constants || {}).map(([k, v]) => `${esc(k)}=${esc(fmtVal(v))}`).join(', ');
      $('detail').innerHTML = `<div class="card"><h3>${swatch(i)}Design point ${ids[i]}</h3>` +
        `<div style="display:flex;gap:1.5em;flex-wrap:wrap"><table>${designRows(i)}</table><table>${objectiveRows(i)}</table></div>` +
        bd + (constants ? `<p class="hint">same for every point: ${constants}</p>` : '') + '</div>';
    }
    function ratioText(a, b) {
      if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0) return '–';
      return '×' + fmt(b / a);
    }
    function drawCompare() {
      if (S.sel.length < 2) {
        $('compare').innerHTML = S.sel.length === 1 ? `<div class="card hint">A = ${S.sel[0]} selected: click a second point to compare.</div>` : '';
        return;
      }
      const [a, b] = S.sel.map((id) => idIndex.get(id));
      const rows = DESIGN.map((c) => {
        const va = valueText(c, a), vb = valueText(c, b);
        return `<tr class="${va !== vb ? 'diff' : ''}"><td class="l">${esc(c.name)}</td><td class="l">${esc(va)}</td><td class="l">${esc(vb)}</td><td></td></tr>`;
      });
      const orows = OBJ.map((c) => {
        const va = c.data[a], vb = c.data[b];
        let cls = '';
        if (Number.isFinite(va) && Number.isFinite(vb) && va !== vb) cls = ((vb < va) === (c.sense !== 'max')) ? 'better' : 'worse';
        return `<tr data-objective="${esc(c.name)}"><td class="l">${esc(hdr(c))}</td><td>${fmt(human(c, va))}</td><td>${fmt(human(c, vb))}</td>` +
          `<td class="ratio ${cls}">${ratioText(va, vb)}</td></tr>`;
      });
      let brows = [];
      const lcs = COL.latency_s || {scale: 1e3, unit: 'ms'};
      if (OPK.length && BL) {
        brows = OPK.map((k, t) => {
          const la = BL[t * N + a], lb = BL[t * N + b];
          if (Number.isNaN(la) && Number.isNaN(lb)) return '';
          return `<tr><td class="l">latency ${esc(k)} (${esc(lcs.unit)})</td><td>${fmt(la * lcs.scale)}</td><td>${fmt(lb * lcs.scale)}</td><td>${ratioText(la, lb)}</td></tr>`;
        });
      }
      $('compare').innerHTML = `<div class="card"><h3>Comparison: B / A</h3><table id="compare-table"><thead><tr><th class="l"></th>` +
        `<th class="l">A</th><th class="l">B</th><th>B / A</th></tr></thead><tbody>` +
        `<tr><td class="l">point_id</td><td class="l">${S.sel[0]}</td><td class="l">${S.sel[1]}</td><td></td></tr>` +
        rows.join('') + orows.join('') + brows.join('') + '</tbody></table>' +
        '<p class="hint">Green: B is better in that objective; red: worse. Shaded rows: designs differ.</p></div>';
    }
    function select(id) {
      if (!idIndex.has(id)) throw new Error(`unknown point id ${id}`);
      S.sel = S.sel.filter((s) => s !== id);
      S.sel.push(id);
      if (S.sel.length > 2) S.sel = S.sel.slice(-2);
      S.detail = id;
      drawDetail();
      drawCompare();
      drawTable();
      return drawScatter();
    }

    // ---- front table ------------------------------------------------------------------------------------
    const TABLE_COLS = () => [...CATS.filter((c) => c.values.length > 1), ...OBJ];
    function sortedFront() {
      const f = current.front.slice();
      const key = S.sortCol ? COL[S.sortCol] : COL[S.x];
      const d = key.data, dir = S.sortDir;
      if (key.kind === 'cat') f.sort((i, j) => dir * (key.values[d[i]] < key.values[d[j]] ? -1 : key.values[d[i]] > key.values[d[j]] ? 1 : 0));
      else f.sort((i, j) => { const a = d[i], b = d[j]; return Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : dir * (a - b); });
      return f;
    }
    const TABLE_MAX = 2000;
    function drawTable() {
      const cols = TABLE_COLS();
      const f = sortedFront();
      const head = '<tr><th class="l"></th><th class="l" data-sort="">point_id</th>' + cols.map((c) =>
        `<th data-sort="${esc(c.name)}" class="${c.kind === 'cat' ? 'l' : ''}" title="${esc(c.name)}: click to sort">${esc(c.kind === 'cat' ? c.name : hdr(c))}` +
        `${S.sortCol === c.name ? (S.sortDir > 0 ? ' ▲' : ' ▼') : ''}</th>`).join('') + '</tr>';
      $('front-table').tHead.innerHTML = head;
      const sel = new Set(S.sel);
      const rows = [];
      for (const i of f.slice(0, TABLE_MAX)) {
        rows.push(`<tr data-id="${ids[i]}" class="${sel.has(ids[i]) ? 'sel' : ''}"><td>${swatch(i)}</td><td class="l">${ids[i]}</td>` +
          cols.map((c) => `<td class="${c.kind === 'cat' ? 'l' : ''}">${esc(valueText(c, i))}</td>`).join('') + '</tr>');
      }
      $('front-table').tBodies[0].innerHTML = rows.join('');
      $('table-note').textContent = `(${f.length.toLocaleString()} points${f.length > TABLE_MAX ? `, first ${TABLE_MAX} shown; the CSV has all` : ''}; click a header to sort, a row to select)`;
      for (const th of $('front-table').tHead.querySelectorAll('th[data-sort]')) {
        th.onclick = () => {
          const col = th.dataset.sort || null;
          if (S.sortCol === col) S.sortDir = -S.sortDir; else { S.sortCol = col; S.sortDir = 1; }
          if (col === null) S.sortCol = null;
          drawTable();
        };
      }
      for (const tr of $('front-table').tBodies[0].rows) tr.onclick = () => select(tr.dataset.id);
    }
    function csvCell(v) {
      const s = v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : String(v);
      return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    }
    function frontCSV() {
      const cols = TABLE_COLS();
      const lines = [['point_id', ...cols.map((c) => c.name)].join(',')];
      for (const i of sortedFront()) {
        lines.push([ids[i], ...cols.map((c) => csvCell(c.kind === 'cat' ? c.values[c.data[i]] : c.data[i]))].join(','));
      }
      return lines.join('\n') + '\n';
    }

    // ---- parallel coordinates (brushing sets the objectives' ranges) ---------------------------------------
    let pcDims = [];
    let pcDrawing = false;
    function drawParcoords() {
      const m = baseMask(false);
      for (const name in S.range) {  // numeric-axis ranges filter the lines; objective ranges are brushes
        const r = S.range[name];
        if (!r || COL[name].role === 'objective') continue;
        const d = COL[name].data;
        for (let i = 0; i < N; i++) if (!(d[i] >= r[0] && d[i] <= r[1])) m[i] = 0;
      }
      let idx = indicesOf(m);
      const total = idx.length;
      if (idx.length > PC_MAX) {  // a seeded random sample (a stride would alias with the grid's order)
        const a = Int32Array.from(idx);
        let r = 0x9e3779b9;
        for (let t = 0; t < PC_MAX; t++) {  // partial Fisher-Yates, xorshift32
          r ^= r << 13; r ^= r >>> 17; r ^= r << 5;
          const j = t + ((r >>> 0) % (a.length - t));
          const tmp = a[t]; a[t] = a[j]; a[j] = tmp;
        }
        idx = a.subarray(0, PC_MAX).sort();
      }
      $('pc-note').textContent = `(${idx.length.toLocaleString()} of ${total.toLocaleString()} lines${total > idx.length ? ', a random sample; brushing filters all' : ''}; drag along an axis to brush)`;
      pcDims = OBJ.filter((c) => Number.isFinite(c.min) && Number.isFinite(c.max) && c.max > c.min).slice(0, PC_DIMS);
      const dims = pcDims.map((c) => {
        const log = c.logDefault;
        const vals = new Float64Array(idx.length);
        for (let t = 0; t < idx.length; t++) { const v = human(c, c.data[idx[t]]); vals[t] = log ? Math.log10(v) : v; }
        const dim = {label: hdr(c), values: vals, multiselect: false};
        if (log) {
          const lo = Math.floor(Math.log10(human(c, c.min))), hi = Math.ceil(Math.log10(human(c, c.max)));
          dim.tickvals = []; dim.ticktext = [];
          for (let e = lo; e <= hi; e++) { dim.tickvals.push(e); dim.ticktext.push(fmt(Math.pow(10, e))); }
          dim.range = [Math.log10(human(c, c.min)), Math.log10(human(c, c.max))];
        }
        const r = S.range[c.name];
        if (r) {
          const a = Number.isFinite(r[0]) ? human(c, r[0]) : human(c, c.min), b = Number.isFinite(r[1]) ? human(c, r[1]) : human(c, c.max);
          dim.constraintrange = log ? [Math.log10(Math.max(a, 1e-300)), Math.log10(Math.max(b, 1e-300))] : [a, b];
        }
        return dim;
      });
      const cc = COL[S.color];
      let line = {color: '#4c78a8'};
      if (cc) {
        const k = cc.values.length, col = new Float64Array(idx.length);
        for (let t = 0; t < idx.length; t++) col[t] = (cc.data[idx[t]] + 0.5) / k;
        const scale = [];
        cc.colors.forEach((c, j) => { scale.push([j / k, c]); scale.push([(j + 1) / k, c]); });
        line = {color: col, colorscale: scale, cmin: 0, cmax: 1, showscale: false};
      }
      pcDrawing = true;
      const p = Plotly.react('parcoords', [{type: 'parcoords', dimensions: dims, line, labelangle: -20,
        labelfont: {size: 11}, tickfont: {size: 10}}], {margin: {l: 60, r: 60, t: 70, b: 20}}, {displaylogo: false, responsive: true});
      return Promise.resolve(p).then((el) => {
        if (!el._tasimBound) { el.on('plotly_restyle', onBrush); el._tasimBound = true; }
      }).finally(() => { pcDrawing = false; });
    }
    function onBrush(ev) {
      if (pcDrawing || !ev || !ev[0]) return;
      let changed = false;
      for (const key of Object.keys(ev[0])) {
        const mm = key.match(/^dimensions\[(\d+)\]\.constraintrange$/);
        if (!mm) continue;
        const c = pcDims[+mm[1]];
        let r = ev[0][key];
        if (Array.isArray(r) && r.length === 1 && Array.isArray(r[0])) r = r[0];  // restyle wraps per trace
        if (Array.isArray(r) && Array.isArray(r[0])) r = [Math.min(...r.map((x) => x[0])), Math.max(...r.map((x) => x[1]))];
        if (!r || r.length !== 2 || r[0] === undefined) { S.range[c.name] = null; changed = true; continue; }
        const lo = c.logDefault ? Math.pow(10, r[0]) : r[0], hi = c.logDefault ? Math.pow(10, r[1]) : r[1];
        S.range[c.name] = [lo / (c.scale || 1), hi / (c.scale || 1)];
        changed = true;
      }
      if (changed) { syncRangeInputs(); update(false); }
    }

    // ---- one update for everything ------------------------------------------------------------------------
    function update(redrawParcoords) {
      const m = baseMask(true);
      current.mask = m;
      current.idx = indicesOf(m);
      mark('mask');
      current.groups = groupedFront(current.idx, parseObjective(S.x), parseObjective(S.y), S.frontBy);
      current.front = [].concat(...current.groups);
      mark('front');
      updateFilterCounts(m);
      drawLegend();
      for (const box of $('filter-groups').querySelectorAll('input[type=checkbox]')) {
        box.checked = !!S.allowed[box.dataset.col][+box.dataset.k];
        const sw = box.nextElementSibling, c = COL[box.dataset.col];
        if (sw) sw.style.background = c.name === S.color ? c.colors[+box.dataset.k] : 'transparent';
      }
      $('counts').textContent = `${current.idx.length.toLocaleString()} of ${N.toLocaleString()} points shown, ${current.front.length.toLocaleString()} on the front`;
      drawTable();
      mark('table');
      const p = drawScatter();
      if (redrawParcoords) scheduleParcoords();
      return p;
    }
    // the parallel coordinates are redrawn after the scatter, coalesced, without blocking it
    // (only while they are on screen: drawing them costs more than the scatter; drawn when scrolled to)
    let pcTimer = null, pcPromise = Promise.resolve(), pcResolve = null, pcVisible = false, pcDirty = false;
    function scheduleParcoords(force) {
      if (!pcVisible && !force) {
        if (!pcDirty) { pcDirty = true; pcPromise = new Promise((res) => { pcResolve = res; }); }
        return pcPromise;
      }
      if (pcTimer === null && !pcDirty) pcPromise = new Promise((res) => { pcResolve = res; });
      pcDirty = false;
      if (pcTimer !== null) clearTimeout(pcTimer);
      pcTimer = setTimeout(() => {
        pcTimer = null;
        const done = pcResolve;
        drawParcoords().then(() => { document.body.dataset.parcoords = '1'; done(); }, done);
      }, 30);
      return pcPromise;
    }

    // ---- page -----------------------------------------------------------------------------------------------
    document.title = `tasim explorer: ${H.name}`;
    $('title').textContent = `tasim explorer: ${H.name}`;
    $('summary').textContent = `${N.toLocaleString()}${H.stored > N ? ` of ${H.stored.toLocaleString()}` : ''} design points (successfully simulated), ${OBJ.length} objectives, ` +
      `engine ${H.engine}, base accelerator ${H.base_arch}, tasim ${H.tasim_version}`;
    if (H.sample_note) {  // a large store: a bounded sample that keeps the full fronts (sweeps/explorer.py)
      $('sample-note').textContent = `This page shows ${H.sample_note}`;
      $('sample-note').hidden = false;
    }
    $('description').textContent = H.description || '';
    buildFilters();
    mark('controls');
    await update(false);
    mark('scatter');
    const gd = $('scatter');
    gd.on('plotly_hover', (ev) => {
      const i = pointIndexOf(ev);
      if (i === null || i === undefined) return;
      const e = ev.event || {};
      showTooltip(i, e.clientX || 0, e.clientY || 0);
    });
    gd.on('plotly_unhover', () => { $('tooltip').hidden = true; });
    gd.on('plotly_click', (ev) => { const i = pointIndexOf(ev); if (i !== null && i !== undefined) select(ids[i]); });

    window.tasimExplorer = {
      pointCount: () => N,
      storedCount: () => H.stored || N,  // design points of the sweep (more than pointCount on a sampled page)
      selectedCount: () => current.idx.length,
      visibleIds: () => Array.from(current.traces[0], (i) => ids[i]),
      frontIds: (x, y, by) => {  // by: a column for one front per value ('' = pooled; default: the menu's)
        const xo = parseObjective(x || S.x), yo = parseObjective(y || S.y);
        return [].concat(...groupedFront(current.idx, xo, yo, by === undefined ? S.frontBy : by)).map((i) => ids[i]);
      },
      select: (id) => select(id),
      parcoordsDrawn: () => (pcDirty ? scheduleParcoords(true) : pcPromise),
      selection: () => S.sel.slice(),
      setAxes: (x, y, xlog, ylog) => {
        S.x = x; S.y = y;
        S.xlog = xlog === undefined ? COL[x].logDefault : !!xlog; S.ylog = ylog === undefined ? COL[y].logDefault : !!ylog;
        $('x-select').value = x; $('y-select').value = y; $('x-log').checked = S.xlog; $('y-log').checked = S.ylog;
        return update(false);
      },
      setColor: (col) => { S.color = col; $('color-select').value = col; return update(true); },
      setRange: (col, lo, hi) => {  // SI units, null for open ends
        S.range[col] = (lo === null && hi === null) ? null : [lo === null ? -Infinity : lo, hi === null ? Infinity : hi];
        syncRangeInputs();
        return update(true);
      },
      pointPosition: (id) => {  // client coordinates of a point in the scatter (for automation)
        const i = idIndex.get(id), L = gd._fullLayout, r = gd.getBoundingClientRect();
        const xc = COL[S.x], yc = COL[S.y];
        return {x: r.left + L._size.l + L.xaxis.d2p(human(xc, xc.data[i])), y: r.top + L._size.t + L.yaxis.d2p(human(yc, yc.data[i]))};
      },
      frontCSV,
      tableIds: () => Array.from($('front-table').tBodies[0].rows, (tr) => tr.dataset.id),
      timings: () => Object.assign({}, T),
      state: () => ({x: S.x, y: S.y, color: S.color, xlog: S.xlog, ylog: S.ylog}),
    };
    mark('ready');
    document.body.dataset.ready = '1';
    scheduleParcoords().then(() => mark('parcoords'));
    new IntersectionObserver((entries) => {
      pcVisible = entries.some((e) => e.isIntersecting);
      if (pcVisible && pcDirty) scheduleParcoords();
    }).observe($('parcoords'));
  }

  main().catch((err) => {
    const s = document.getElementById('summary');
    if (s) s.textContent = `The explorer failed to start: ${err && err.message ? err.message : err}`;
    throw err;
  });
})();
