/**
 * A service's last hour as a chart (uPlot: small and fast on canvas): desired and ready replicas
 * and the autoscaler's floor on the left axis; CPU (% of requests), requests per second (all the
 * balancers', and per replica as the autoscaler saw it) on the first right axis; the p99 latency of
 * the answers in milliseconds on its own; each autoscaler decision as a vertical mark. The points
 * come from `GET /api/v1/services/NAME/history`, the decisions from the Service's status. Under the
 * chart, the latest numbers as text (the canvas says nothing to a screen reader).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { AutoscaleDecision } from '@tide/api';
import { h } from '../dom';

export interface ChartPoint {
  t: number; desired: number; ready: number; replicas: number; cpuPercent?: number; rpsPerReplica?: number; floor?: number; rps?: number; p99Ms?: number;
}

/** The chart's lines after time, in the order of its data: label, scale, colour, the point's number. */
const SERIES: { label: string; scale: string; stroke: string; value: (p: ChartPoint) => number | undefined; stepped?: true; dash?: number[] }[] = [
  { label: 'desired', scale: 'replicas', stroke: '#0b5cad', value: (p) => p.desired, stepped: true },
  { label: 'ready', scale: 'replicas', stroke: '#1a7f37', value: (p) => p.ready, stepped: true },
  { label: 'floor', scale: 'replicas', stroke: '#9a3412', value: (p) => p.floor, dash: [6, 4] },
  { label: 'CPU %', scale: 'load', stroke: '#8250df', value: (p) => p.cpuPercent },
  { label: 'req/s', scale: 'load', stroke: '#0e7490', value: (p) => p.rps },
  { label: 'req/s per replica', scale: 'load', stroke: '#bf3989', value: (p) => p.rpsPerReplica },
  { label: 'p99 ms', scale: 'latency', stroke: '#b42318', value: (p) => p.p99Ms },
];

export class ServiceChart {
  readonly element = h('figure', { class: 'chart' });
  private plot?: uPlot;
  private decisions: AutoscaleDecision[] = [];

  draw(recorded: ChartPoint[], decisions: AutoscaleDecision[], name: string): void {
    this.decisions = decisions;
    // The numbers hold until they change: the last point is carried to now, so the lines reach it.
    const last = recorded[recorded.length - 1];
    const points = last ? [...recorded, { ...last, t: Date.now() }] : recorded;
    const data: uPlot.AlignedData = [points.map((p) => p.t / 1000), ...SERIES.map((series) => points.map((p) => series.value(p) ?? null))];
    // What the chart holds, for a test to read without the canvas: each line's label and how many points it has.
    this.element.dataset.series = SERIES.map((series) => `${series.label}:${recorded.filter((p) => series.value(p) !== undefined).length}`).join(',');
    const caption = h('figcaption', {}, recorded.length === 0
      ? `No history of ${name} yet: the control plane keeps it from when it started.`
      : `${name} over the last hour: replicas desired and ready, the autoscaler's floor, CPU, requests per second, p99 latency, and ${decisions.length} autoscaler decisions.`,
    last ? h('span', { class: 'latest' }, ` Latest: ${latestText(last)}.`) : null);
    if (this.plot) {
      this.plot.setData(data);
      this.element.querySelector('figcaption')?.replaceWith(caption);
      return;
    }
    const chart = h('div', { 'aria-hidden': 'true' });
    this.element.replaceChildren(chart, caption);
    this.plot = new uPlot(options(this.element.clientWidth || 900, () => this.decisions), data, chart);
  }
}

function options(width: number, decisions: () => AutoscaleDecision[]): uPlot.Options {
  return {
    width, height: 260,
    // Always the last hour, however few points there are.
    scales: {
      x: { time: true, range: () => [Date.now() / 1000 - 3600, Date.now() / 1000] },
      replicas: { range: (_u, min, max) => [0, Math.max(1, max ?? min) * 1.1] }, load: {}, latency: { range: (_u, _min, max) => [0, Math.max(1, max ?? 0) * 1.1] },
    },
    axes: [{}, { scale: 'replicas', label: 'replicas' }, { scale: 'load', side: 1, label: 'CPU % · req/s', grid: { show: false } },
      { scale: 'latency', side: 1, label: 'p99 ms', grid: { show: false } }],
    series: [{}, ...SERIES.map((line) => ({
      label: line.label, scale: line.scale, stroke: line.stroke, width: line.stepped ? 2 : 1,
      ...(line.stepped ? { paths: uPlot.paths.stepped?.({ align: 1 }) } : {}), ...(line.dash ? { dash: line.dash } : {}),
    }))],
    hooks: {
      // The autoscaler's decisions: a vertical line each, at its time.
      draw: [(u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = '#6e7781';
        ctx.setLineDash([2, 3]);
        for (const decision of decisions()) {
          const x = u.valToPos(Date.parse(decision.time) / 1000, 'x', true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
}

/** "3 desired · 3 ready · 12.5 req/s · p99 4.8 ms": the numbers of the newest point that it has. */
export function latestText(point: ChartPoint): string {
  return [
    `${point.desired} desired`, `${point.ready} ready`,
    point.floor === undefined ? undefined : `floor ${point.floor}`,
    point.cpuPercent === undefined ? undefined : `CPU ${Math.round(point.cpuPercent)}%`,
    point.rps === undefined ? undefined : `${point.rps.toFixed(1)} req/s`,
    point.p99Ms === undefined ? undefined : `p99 ${point.p99Ms.toFixed(1)} ms`,
  ].filter((part): part is string => part !== undefined).join(' · ');
}
