/**
 * A service's last hour as a chart (uPlot: small and fast on canvas): desired and ready replicas
 * and the autoscaler's floor on the left axis, CPU (% of requests) and requests per second per
 * replica on the right, and each autoscaler decision as a vertical mark. The points come from
 * `GET /api/v1/services/NAME/history`; the decisions from the Service's status.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { AutoscaleDecision } from '@tide/api';
import { h } from '../dom';

export interface ChartPoint { t: number; desired: number; ready: number; replicas: number; cpuPercent?: number; rpsPerReplica?: number; floor?: number }

export class ServiceChart {
  readonly element = h('figure', { class: 'chart' });
  private plot?: uPlot;
  private decisions: AutoscaleDecision[] = [];

  draw(recorded: ChartPoint[], decisions: AutoscaleDecision[], name: string): void {
    this.decisions = decisions;
    // The numbers hold until they change: the last point is carried to now, so the lines reach it.
    const last = recorded[recorded.length - 1];
    const points = last ? [...recorded, { ...last, t: Date.now() }] : recorded;
    const data: uPlot.AlignedData = [
      points.map((p) => p.t / 1000),
      points.map((p) => p.desired), points.map((p) => p.ready), points.map((p) => p.floor ?? null),
      points.map((p) => p.cpuPercent ?? null), points.map((p) => p.rpsPerReplica ?? null),
    ];
    const caption = h('figcaption', {}, recorded.length === 0
      ? `No history of ${name} yet: the control plane keeps it from when it started.`
      : `${name} over the last hour: replicas desired and ready, the autoscaler's floor, CPU and requests per second per replica, and ${decisions.length} autoscaler decisions.`);
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
    scales: { x: { time: true, range: () => [Date.now() / 1000 - 3600, Date.now() / 1000] }, replicas: { range: (_u, min, max) => [0, Math.max(1, max ?? min) * 1.1] }, load: {} },
    axes: [{}, { scale: 'replicas', label: 'replicas' }, { scale: 'load', side: 1, label: 'CPU % · req/s', grid: { show: false } }],
    series: [
      {},
      { label: 'desired', scale: 'replicas', stroke: '#0b5cad', width: 2, paths: uPlot.paths.stepped?.({ align: 1 }) },
      { label: 'ready', scale: 'replicas', stroke: '#1a7f37', width: 2, paths: uPlot.paths.stepped?.({ align: 1 }) },
      { label: 'floor', scale: 'replicas', stroke: '#9a3412', dash: [6, 4] },
      { label: 'CPU %', scale: 'load', stroke: '#8250df' },
      { label: 'req/s per replica', scale: 'load', stroke: '#bf3989' },
    ],
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
