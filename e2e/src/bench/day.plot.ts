/**
 * The `day` benchmark's figure as a self-contained SVG (no network, no library): demand and ready
 * capacity per minute for each policy, then both policies' nodes, over the same time axis.
 */
import { MinutePoint } from './day.cluster';

const WIDTH = 1100;
const PANEL = 190;
const GAP = 46;
const LEFT = 70;
const RIGHT = 20;
const COLORS = { demand: '#222222', tide: '#1f77b4', baseline: '#d62728' };

interface Series {
  minuteMs: number[];
  tide: MinutePoint[];
  baseline: MinutePoint[];
}

interface Line {
  values: number[];
  color: string;
  label: string;
  dashed?: boolean;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A round step for about five ticks up to `max`. */
function tickStep(max: number): number {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
}

function panel(top: number, title: string, unit: string, lines: Line[], minuteMs: number[]): string {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const max = Math.max(1, ...lines.flatMap((l) => l.values)) * 1.05;
  const x = (i: number) => LEFT + (i / Math.max(1, minuteMs.length - 1)) * plotWidth;
  const y = (v: number) => top + PANEL - (v / max) * PANEL;
  const parts = [`<text x="${LEFT}" y="${top - 8}" font-size="13" font-weight="bold">${escape(title)}</text>`,
    `<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL}" fill="none" stroke="#999"/>`];
  const step = tickStep(max);
  for (let v = 0; v <= max; v += step) {
    parts.push(`<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end">${v >= 1000 ? `${v / 1000}k` : v}</text>`);
  }
  parts.push(`<text x="14" y="${top + PANEL / 2}" font-size="11" transform="rotate(-90 14 ${top + PANEL / 2})" text-anchor="middle">${escape(unit)}</text>`);
  for (let i = 0; i < minuteMs.length; i += 360) {
    const label = new Date(minuteMs[i]).toISOString().slice(5, 16).replace('T', ' ');
    parts.push(`<line x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${top}" y2="${top + PANEL}" stroke="#eee"/>`,
      `<text x="${x(i).toFixed(1)}" y="${top + PANEL + 14}" font-size="10" text-anchor="middle">${label}</text>`);
  }
  lines.forEach((line, k) => {
    const points = line.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${line.color}" stroke-width="1.2"${line.dashed ? ' stroke-dasharray="4 2"' : ''} points="${points}"/>`);
    const lx = LEFT + plotWidth - 260 + k * 130;
    parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="${top + 12}" y2="${top + 12}" stroke="${line.color}" stroke-width="2"${line.dashed ? ' stroke-dasharray="4 2"' : ''}/>`,
      `<text x="${lx + 22}" y="${top + 16}" font-size="11">${escape(line.label)}</text>`);
  });
  return parts.join('\n');
}

export function plotDay(series: Series, title: string): string {
  const demand = series.tide.map((p) => p.demandRps);
  const height = 40 + 3 * (PANEL + GAP);
  const panels = [
    panel(50, `Tide: demand and ready capacity (requests/s)`, 'requests/s', [
      { values: demand, color: COLORS.demand, label: 'demand' },
      { values: series.tide.map((p) => p.capacityRps), color: COLORS.tide, label: 'ready capacity' }], series.minuteMs),
    panel(50 + PANEL + GAP, `Baseline (HPA, kube-scheduler, Cluster Autoscaler defaults): demand and ready capacity`, 'requests/s', [
      { values: demand, color: COLORS.demand, label: 'demand' },
      { values: series.baseline.map((p) => p.capacityRps), color: COLORS.baseline, label: 'ready capacity' }], series.minuteMs),
    panel(50 + 2 * (PANEL + GAP), 'Nodes (booting ones included)', 'nodes', [
      { values: series.tide.map((p) => p.nodes), color: COLORS.tide, label: 'tide' },
      { values: series.baseline.map((p) => p.nodes), color: COLORS.baseline, label: 'baseline', dashed: true }], series.minuteMs),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${escape(`day benchmark: ${title} (UTC)`)}</text>`,
    ...panels, '</svg>', '',
  ].join('\n');
}
