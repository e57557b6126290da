/**
 * The overview heat map: all heads (rows) × the visible neuron window (columns) of one score, drawn on a
 * <canvas> as one ImageData blit (cheap even for 48 × 3072). Hover shows a tooltip, click selects a pair,
 * mouse wheel zooms the neuron window around the pointer; sort and explicit ranges come from the toolbar.
 */
import { el } from "./dom";
import {
  DIVERGING, NeuronWindow, SEQUENTIAL, clampWindow, columnCount, fmt, hitTest, neuronOrder, rasterize, valueRange,
} from "./heatmapLogic";

export interface HeatMapData {
  values: Float32Array;
  heads: number;
  neurons: number;
  signed: boolean;
  label: string;
}

export class HeatMap {
  readonly root: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLDivElement;
  private readonly axis: HTMLDivElement;
  private readonly marker: HTMLDivElement;
  private data: HeatMapData | null = null;
  private order: Int32Array = new Int32Array(0);
  private argmax: Int32Array = new Int32Array(0);
  private cols = 1;
  private sortByMax = false;
  private selected: [number, number] | null = null;
  window: NeuronWindow = { start: 0, end: 1 };
  /** Called with (head, neuron) when a cell is clicked. */
  onSelect: (head: number, neuron: number) => void = () => undefined;
  /** Called after the window changes by wheel zoom (so the toolbar can show it). */
  onWindow: (w: NeuronWindow) => void = () => undefined;

  constructor(private readonly maxColumns = 1024, private readonly rowHeight = 8) {
    this.root = el("div", "nhb-heatmap");
    this.canvas = el("canvas", "nhb-canvas");
    this.tooltip = el("div", "nhb-tooltip");
    this.tooltip.style.display = "none";
    // The selected pair's frame, in CSS units over the canvas (a drawn pixel would be ~1 px wide at 3072 neurons).
    this.marker = el("div", "nhb-marker");
    this.marker.style.display = "none";
    const plot = el("div", "nhb-plot");
    plot.append(this.canvas, this.marker, this.tooltip);
    this.axis = el("div", "nhb-axis");
    this.root.append(plot, this.axis);
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    this.canvas.addEventListener("mouseleave", () => { this.tooltip.style.display = "none"; });
    this.canvas.addEventListener("click", (e) => {
      const hit = this.pairAt(e);
      if (hit) this.onSelect(hit.head, hit.neuron);
    });
    this.canvas.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
  }

  /** New values (a different score or a query). Keeps the window when the shape is unchanged. */
  setData(data: HeatMapData): void {
    const reshape = !this.data || this.data.neurons !== data.neurons || this.data.heads !== data.heads;
    this.data = data;
    this.order = neuronOrder(data.values, data.heads, data.neurons, this.sortByMax);
    if (reshape) this.window = { start: 0, end: data.neurons };
    this.draw();
  }

  setSort(sortByMax: boolean): void {
    this.sortByMax = sortByMax;
    if (this.data) this.order = neuronOrder(this.data.values, this.data.heads, this.data.neurons, sortByMax);
    this.draw();
  }

  setWindow(start: number, end: number): void {
    if (!this.data) return;
    this.window = clampWindow(start, end, this.data.neurons);
    this.draw();
  }

  setSelected(pair: [number, number] | null): void {
    this.selected = pair;
    this.draw();
  }

  /** (head, neuron) under a mouse event, through the argmax of the pixel's bin. */
  pairAt(e: { offsetX: number; offsetY: number }): { head: number; neuron: number } | null {
    if (!this.data) return null;
    const r = this.canvas.getBoundingClientRect();
    const width = r.width || this.canvas.width, height = r.height || this.canvas.height;
    const hit = hitTest(e.offsetX, e.offsetY, width, height, this.cols, this.data.heads);
    if (!hit) return null;
    return { head: hit.head, neuron: this.argmax[hit.head * this.cols + hit.col] };
  }

  private hover(e: MouseEvent): void {
    const hit = this.pairAt(e);
    if (!hit || !this.data) { this.tooltip.style.display = "none"; return; }
    const v = this.data.values[hit.head * this.data.neurons + hit.neuron];
    this.tooltip.textContent = `head ${hit.head} · neuron ${hit.neuron} · ${this.data.label} ${fmt(v)}`;
    this.tooltip.style.display = "block";
    this.tooltip.style.left = `${e.offsetX + 12}px`;
    this.tooltip.style.top = `${e.offsetY + 12}px`;
  }

  private wheel(e: WheelEvent): void {
    if (!this.data) return;
    e.preventDefault();
    const r = this.canvas.getBoundingClientRect();
    const f = r.width ? Math.min(1, Math.max(0, e.offsetX / r.width)) : 0.5;
    const w = this.window.end - this.window.start;
    const nw = Math.max(8, Math.round(w * (e.deltaY > 0 ? 1.25 : 0.8)));
    const centre = this.window.start + f * w;
    this.window = clampWindow(centre - f * nw, centre - f * nw + nw, this.data.neurons);
    this.draw();
    this.onWindow(this.window);
  }

  /** Redraw (one putImageData of cols × heads pixels, scaled by CSS). */
  draw(): void {
    const d = this.data;
    if (!d || d.heads === 0 || d.neurons === 0) return;
    this.cols = columnCount(this.window, this.maxColumns);
    const range = valueRange(d.values, d.signed);
    const { rgba, argmax } = rasterize(d.values, d.heads, d.neurons, this.order, this.window, this.cols, range,
      d.signed ? DIVERGING : SEQUENTIAL);
    this.argmax = argmax;
    this.canvas.width = this.cols;
    this.canvas.height = d.heads;
    this.canvas.style.height = `${Math.max(60, Math.min(480, d.heads * this.rowHeight))}px`;
    const ctx = this.canvas.getContext("2d");
    if (ctx) {
      const img = ctx.createImageData(this.cols, d.heads);
      img.data.set(rgba);
      ctx.putImageData(img, 0, 0);
    }
    this.markSelected();
    const sorted = this.sortByMax ? "sorted by max over heads" : "in index order";
    this.axis.textContent = `${d.label}: ${d.heads} heads × neurons ${this.window.start}–${this.window.end - 1} ` +
      `of ${d.neurons} (${sorted}); range ${fmt(range[0])} … ${fmt(range[1])}`;
  }

  /** Frame the selected pair's pixel (its bin's column, if it is the bin's best neuron; else the first column holding it). */
  private markSelected(): void {
    this.marker.style.display = "none";
    if (!this.selected || !this.data) return;
    const [h, n] = this.selected;
    const pos = this.order.indexOf(n);
    if (h >= this.data.heads || pos < this.window.start || pos >= this.window.end) return;
    const w = this.window.end - this.window.start;
    const col = Math.min(this.cols - 1, Math.floor(((pos - this.window.start) * this.cols) / w));
    this.marker.style.display = "block";
    this.marker.style.left = `${(100 * col) / this.cols}%`;
    this.marker.style.width = `${100 / this.cols}%`;
    this.marker.style.top = `${(100 * h) / this.data.heads}%`;
    this.marker.style.height = `${100 / this.data.heads}%`;
  }
}
