// Inline-SVG charts: lines over time, bars per day, share bars per period, the connectivity gauge. Colours are the CSS
// variables --series-<key> (palette.css); labels come already formatted from the caller. No imports,
// so the HTML report inlines this file as it is.

const SVG_NS = 'http://www.w3.org/2000/svg';
const MARGIN = { top: 14, right: 16, bottom: 28, left: 52 };
// axis steps in seconds: the smallest giving at most six ticks wins
const TIME_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000];

const finite = (v) => typeof v === 'number' && Number.isFinite(v);
const colour = (key) => `var(--series-${key})`;

function svgEl(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (name === 'text') el.textContent = value;
    else el.setAttribute(name, String(value));
  }
  el.append(...children);
  return el;
}

/** Clears the chart and sizes it to its box's width; the plot area's corners. */
function frame(svg, height, margin = MARGIN) {
  const box = svg.parentElement ? svg.parentElement.clientWidth : 0;
  const width = box > 40 ? Math.floor(box) : 600;
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  return { width, height, x0: margin.left, x1: width - margin.right, y0: height - margin.bottom, y1: margin.top };
}

/** A round step covering `max` in about `count` steps. */
function niceStep(max, count) {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const f = raw / magnitude;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * magnitude;
}

/** The y scale: round ticks from 0 to at least `max` (or exactly `top` when given). */
function yScale(area, max, top = null) {
  const high = top ?? (max > 0 ? max : 1);
  const step = niceStep(high, 4);
  const roof = top ?? Math.max(step, Math.ceil(high / step) * step);
  const values = [];
  for (let i = 0; i * step <= roof + step / 2; i++) values.push(i * step);
  return { step, values, y: (v) => area.y0 - (v / roof) * (area.y0 - area.y1) };
}

function yAxis(g, area, scale, label, empty) {
  if (empty) {
    g.append(svgEl('line', { x1: area.x0, x2: area.x1, y1: area.y0, y2: area.y0, class: 'axis-line' }));
    return;
  }
  for (const v of scale.values) {
    const y = scale.y(v);
    g.append(svgEl('line', { x1: area.x0, x2: area.x1, y1: y, y2: y, class: v === 0 ? 'axis-line' : 'grid-line' }),
      svgEl('text', { x: area.x0 - 8, y, class: 'axis-label', 'text-anchor': 'end', 'dominant-baseline': 'middle',
        text: label(v, scale.step) }));
  }
}

function emptyNote(svg, area, text) {
  svg.append(svgEl('text', { x: area.width / 2, y: area.height / 2, class: 'empty-note', 'text-anchor': 'middle',
    'dominant-baseline': 'middle', text }));
}

/** Time ticks on round steps between tMin and tMax (unix seconds). */
function timeAxis(g, area, x, tMin, tMax, label) {
  const step = TIME_STEPS.find((s) => (tMax - tMin) / s <= 6) || TIME_STEPS[TIME_STEPS.length - 1];
  for (let at = Math.ceil(tMin / step) * step; at <= tMax; at += step) {
    const px = x(at);
    if (px < area.x0 + 18 || px > area.x1 - 18) continue;
    g.append(svgEl('line', { x1: px, x2: px, y1: area.y0, y2: area.y0 + 4, class: 'axis-line' }),
      svgEl('text', { x: px, y: area.y0 + 18, class: 'axis-label', 'text-anchor': 'middle', text: label(at) }));
  }
}

/** The polyline runs of a series: a missing value breaks the line. */
function runs(times, values, x, y) {
  const out = [[]];
  times.forEach((at, i) => {
    if (finite(values[i])) out[out.length - 1].push([x(at), y(values[i])]);
    else if (out[out.length - 1].length) out.push([]);
  });
  return out.filter((run) => run.length);
}

const pathOf = (run, start = 'M') => run.map(([px, py], i) => `${i ? 'L' : start}${px.toFixed(1)},${py.toFixed(1)}`)
  .join('');

function areaUnder(svg, defs, key, lines, floor) {
  const id = `grad-${svg.id || 'chart'}-${key}`;
  defs.append(svgEl('linearGradient', { id, x1: 0, y1: 0, x2: 0, y2: 1 },
    svgEl('stop', { offset: '0', style: `stop-color:${colour(key)};stop-opacity:0.22` }),
    svgEl('stop', { offset: '1', style: `stop-color:${colour(key)};stop-opacity:0.02` })));
  const d = lines.map((run) => `M${run[0][0].toFixed(1)},${floor}${pathOf(run, 'L')}`
    + `L${run.at(-1)[0].toFixed(1)},${floor}Z`).join('');
  svg.append(svgEl('path', { d, fill: `url(#${id})`, class: 'series-area', 'data-area': key }));
}

/** A dashed line at the target, its label just above it (or at labelY, clear of bars that reach it). */
function targetLine(svg, area, y, target, text, labelY = null) {
  const py = y(target);
  svg.append(svgEl('line', { x1: area.x0, x2: area.x1, y1: py, y2: py, class: 'target-line' }),
    svgEl('text', { x: area.x1, y: labelY ?? py - 5, class: 'target-label', 'text-anchor': 'end', text }));
}

/**
 * Lines over time. times: unix seconds, ascending; series: [{key, values}], a <path data-series=key> each,
 * the first with an area under it unless area is false. The time axis spans at least minSpan seconds,
 * ending at the latest point. top fixes the y axis' top (1 for shares); target draws a dashed line.
 */
export function lineChart(svg, { times, series, yLabel, timeLabel, noData, height = 230, minSpan = 0, area = true,
  top = null, target = null, targetText = '' }) {
  const box = frame(svg, height);
  const max = Math.max(0, ...series.flatMap((s) => s.values.filter(finite)));
  const scale = yScale(box, max * 1.08, top);
  const n = times.length;
  const tMax = n ? times[n - 1] : Date.now() / 1000;
  const tMin = Math.min(n ? times[0] : tMax, tMax - minSpan);
  const x = (at) => box.x0 + ((at - tMin) / ((tMax - tMin) || 1)) * (box.x1 - box.x0);
  const defs = svgEl('defs');
  const axes = svgEl('g');
  svg.append(defs, axes);
  yAxis(axes, box, scale, yLabel, n === 0);
  timeAxis(axes, box, x, tMin, tMax, timeLabel);
  if (finite(target)) targetLine(svg, box, scale.y, target, targetText);
  series.forEach(({ key, values }, i) => {
    const lines = runs(times, values, x, scale.y);
    if (area && i === 0 && lines.length) areaUnder(svg, defs, key, lines, box.y0);
    svg.append(svgEl('path', { d: lines.map((run) => pathOf(run)).join(''), class: 'series-line', 'data-series': key,
      fill: 'none', style: `stroke:${colour(key)}` }));
    const last = lines.length ? lines[lines.length - 1].at(-1) : null;
    if (last) svg.append(svgEl('circle', { cx: last[0].toFixed(1), cy: last[1].toFixed(1), r: 3.5,
      class: 'series-dot', style: `fill:${colour(key)}` }));
  });
  if (!n) emptyNote(svg, box, noData);
}

/**
 * Bars per day: received with its online part stacked inside, late beside it.
 * days: [{day, received, online, late}]; dayLabel(day) under the bars, title(day) on hover.
 */
export function dailyBars(svg, { days, yLabel, dayLabel, title, noData, height = 230 }) {
  const box = frame(svg, height, { ...MARGIN, top: 12, right: 8 });
  const count = (v) => (finite(v) ? v : 0);
  const max = Math.max(0, ...days.flatMap((d) => [count(d.received), count(d.late)]));
  const scale = yScale(box, max * 1.05);
  const axes = svgEl('g');
  svg.append(axes);
  yAxis(axes, box, scale, yLabel, !days.length);
  if (!days.length) { emptyNote(svg, box, noData); return; }
  const slot = (box.x1 - box.x0) / days.length;
  const wide = Math.max(2, Math.min(22, slot * 0.5));
  const thin = Math.max(2, Math.min(10, slot * 0.22));
  const labelEvery = Math.max(1, Math.ceil(56 / slot));
  const bar = (key, x, value, width) => svgEl('rect', { x: x.toFixed(1), y: scale.y(value).toFixed(1), rx: 2,
    width: width.toFixed(1), height: Math.max(1, box.y0 - scale.y(value)).toFixed(1), style: `fill:${colour(key)}` });
  const bars = svgEl('g');
  svg.append(bars);
  days.forEach((d, i) => {
    const mid = box.x0 + slot * (i + 0.5);
    const left = mid - (wide + thin + 2) / 2;
    const group = svgEl('g', { 'data-day': d.day || '' }, svgEl('title', { text: title(d) }));
    if (count(d.received) > 0) group.append(bar('received', left, d.received, wide));
    if (count(d.online) > 0) group.append(bar('online', left, Math.min(d.online, count(d.received)), wide));
    if (count(d.late) > 0) group.append(bar('late', left + wide + 2, d.late, thin));
    // a transparent full-height target for the tooltip
    group.append(svgEl('rect', { x: (mid - slot / 2).toFixed(1), y: box.y1, width: slot.toFixed(1),
      height: box.y0 - box.y1, fill: 'transparent' }));
    bars.append(group);
    if ((days.length - 1 - i) % labelEvery === 0) {
      axes.append(svgEl('text', { x: mid.toFixed(1), y: box.y0 + 18, class: 'axis-label', 'text-anchor': 'middle',
        text: dayLabel(d.day) }));
    }
  });
}

/**
 * A share (0..1) per period as bars against a target: a bar met or not (the caller's verdict) each.
 * periods: [{period, share, met}]; periodLabel(period) under the bars, title(row) on hover; target draws
 * a dashed line. The y axis runs from 0 to 100 %.
 */
export function shareBars(svg, { periods, yLabel, periodLabel, title, noData, target = null, targetText = '',
  height = 230 }) {
  const box = frame(svg, height, { ...MARGIN, top: 24, right: 8 });
  const scale = yScale(box, 1, 1);
  const axes = svgEl('g');
  svg.append(axes);
  yAxis(axes, box, scale, yLabel, !periods.length);
  if (!periods.length) { emptyNote(svg, box, noData); return; }
  const slot = (box.x1 - box.x0) / periods.length;
  const wide = Math.max(3, Math.min(48, slot * 0.6));
  const labelEvery = Math.max(1, Math.ceil(56 / slot));
  const bars = svgEl('g');
  svg.append(bars);
  periods.forEach((row, i) => {
    const mid = box.x0 + slot * (i + 0.5);
    const share = finite(row.share) ? row.share : 0;
    const tone = row.met === true ? 'met' : row.met === false ? 'notmet' : 'none';
    bars.append(svgEl('g', { 'data-period': row.period, 'data-value': finite(row.share) ? row.share : '',
      'data-met': row.met === true || row.met === false ? String(row.met) : '' }, svgEl('title', { text: title(row) }),
    svgEl('rect', { x: (mid - wide / 2).toFixed(1), y: scale.y(share).toFixed(1), rx: 2, width: wide.toFixed(1),
      height: Math.max(1, box.y0 - scale.y(share)).toFixed(1), class: `share-bar tone-${tone}` })));
    if ((periods.length - 1 - i) % labelEvery === 0) {
      axes.append(svgEl('text', { x: mid.toFixed(1), y: box.y0 + 18, class: 'axis-label', 'text-anchor': 'middle',
        text: periodLabel(row.period) }));
    }
  });
  if (finite(target)) targetLine(svg, box, scale.y, target, targetText, box.y1 - 10); // above 100 %
}

/**
 * The semicircle gauge of a share (0..1) with its target marked. tone ("met", "near", "notmet" or
 * "none") picks the colour in CSS; texts: {share, target, low, high, label}, already formatted.
 */
export function gauge(svg, { share, target, tone, texts }) {
  svg.replaceChildren();
  const cx = 130, cy = 128, r = 100, thick = 22;
  const point = (f, radius = r) => {
    const a = Math.PI * (1 - Math.min(1, Math.max(0, f)));
    return [cx + radius * Math.cos(a), cy - radius * Math.sin(a)];
  };
  const arc = (f0, f1) => {
    const [ax, ay] = point(f0), [bx, by] = point(f1);
    return `M${ax.toFixed(2)},${ay.toFixed(2)}A${r},${r} 0 0 1 ${bx.toFixed(2)},${by.toFixed(2)}`;
  };
  svg.append(svgEl('path', { d: arc(0, 1), class: 'gauge-track', 'stroke-width': thick, fill: 'none' }));
  if (finite(share) && share > 0.001) {
    svg.append(svgEl('path', { d: arc(0, share), class: `gauge-value tone-${tone}`, 'stroke-width': thick,
      fill: 'none', 'data-series': 'share' }));
  }
  if (finite(target)) {
    const [ax, ay] = point(target, r - thick / 2 - 7), [bx, by] = point(target, r + thick / 2 + 7);
    const [lx, ly] = point(target, r + thick / 2 + 19);
    const anchor = target > 0.5 ? 'start' : target < 0.5 ? 'end' : 'middle';
    svg.append(svgEl('line', { x1: ax.toFixed(2), y1: ay.toFixed(2), x2: bx.toFixed(2), y2: by.toFixed(2),
      class: 'gauge-target', 'data-target': target }),
    svgEl('text', { x: lx.toFixed(2), y: ly.toFixed(2), class: 'gauge-target-label', 'text-anchor': anchor,
      'dominant-baseline': 'middle', text: texts.target }));
  }
  svg.append(svgEl('text', { x: cx - r, y: cy + 18, class: 'gauge-end', 'text-anchor': 'middle', text: texts.low }),
    svgEl('text', { x: cx + r, y: cy + 18, class: 'gauge-end', 'text-anchor': 'middle', text: texts.high }),
    svgEl('text', { x: cx, y: cy - 14, class: `gauge-share tone-${tone}`, 'text-anchor': 'middle',
      'data-testid': 'gauge-share', 'data-value': finite(share) ? share : '', text: texts.share }));
  svg.setAttribute('aria-label', texts.label);
}
