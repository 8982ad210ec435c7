// The train and test loss curves (uPlot), linear or log scale, redrawn at most once a frame.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { LossHistory, LossPoint } from './protocol.ts';

const HEIGHT = 240;

export class LossChart {
  private plot: uPlot | null = null;
  private history: LossHistory = { train: [], test: [] };
  private pending = false;

  constructor(
    private readonly el: HTMLElement,
    private log: boolean,
  ) {
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT })).observe(el);
    this.rebuild();
  }

  set(history: LossHistory): void {
    this.history = { train: [...history.train], test: [...history.test] };
    this.redraw();
  }

  add(train: LossPoint[], test: LossPoint[]): void {
    this.history.train.push(...train);
    this.history.test.push(...test);
    this.redraw();
  }

  setLog(log: boolean): void {
    this.log = log;
    this.rebuild();
  }

  private width(): number {
    return Math.max(200, this.el.clientWidth);
  }

  /** Both curves on one x axis (the union of their steps), each null where it has no point. */
  private data(): uPlot.AlignedData {
    const steps = [...new Set([...this.history.train, ...this.history.test].map(([s]) => s))].sort((a, b) => a - b);
    const column = (points: LossPoint[]) => {
      const at = new Map(points);
      return steps.map((s) => at.get(s) ?? null);
    };
    return [steps, column(this.history.train), column(this.history.test)];
  }

  private rebuild(): void {
    this.plot?.destroy();
    const opts: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      scales: { x: { time: false }, y: this.log ? { distr: 3 } : { range: (_u, _min, max) => [0, max] } },
      axes: [{ label: 'step' }, { label: 'MSE', size: 60 }],
      series: [
        { label: 'step' },
        { label: 'train', stroke: '#2563eb', width: 1.5, spanGaps: true },
        { label: 'test', stroke: '#dc2626', width: 2, spanGaps: true, points: { show: true, size: 5 } },
      ],
    };
    this.plot = new uPlot(opts, this.data(), this.el);
  }

  private redraw(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.plot?.setData(this.data());
    });
  }
}
