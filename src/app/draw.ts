// A drawing pad for "try it yourself", and the preprocessing that makes a drawing look like an
// MNIST digit: the ink's bounding box scaled to fit 20×20 (keeping its aspect), placed in a 28×28
// image so its centre of mass is the centre, then padded to 32×32 as the Mixer pads.
export class DrawPad {
  private drawing = false;
  private inked = false;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onStroke: () => void,
  ) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.drawing = true;
      this.ctx.beginPath();
      this.ctx.moveTo(...this.point(e));
      this.stroke(e);
    });
    canvas.addEventListener('pointermove', (e) => this.drawing && this.stroke(e));
    const end = () => {
      if (!this.drawing) return;
      this.drawing = false;
      this.onStroke();
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  clear(): void {
    this.ctx.fillStyle = 'black';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
  }

  /** The drawing as a 32×32 digit in [0, 1], or null when nothing is drawn. */
  digit(): Float32Array | null {
    if (!this.inked) return null;
    const { width, height } = this.canvas;
    const ink = this.ctx.getImageData(0, 0, width, height).data;
    // The ink's bounding box.
    let [x0, y0, x1, y1] = [width, height, -1, -1];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (ink[4 * (y * width + x)] === 0) continue;
        [x0, x1] = [Math.min(x0, x), Math.max(x1, x)];
        [y0, y1] = [Math.min(y0, y), Math.max(y1, y)];
      }
    }
    if (x1 < 0) return null;
    // Scale the bounding box into a 20×20 box (the browser's resampling anti-aliases the strokes).
    const w = x1 - x0 + 1;
    const h = y1 - y0 + 1;
    const scale = 20 / Math.max(w, h);
    const small = new OffscreenCanvas(28, 28);
    const sctx = small.getContext('2d', { willReadFrequently: true })!;
    sctx.imageSmoothingQuality = 'high';
    const sw = w * scale;
    const sh = h * scale;
    sctx.drawImage(this.canvas, x0, y0, w, h, (28 - sw) / 2, (28 - sh) / 2, sw, sh);
    const gray = sctx.getImageData(0, 0, 28, 28).data;
    // Shift so the centre of mass lands on the middle pixel, as MNIST's preprocessing did.
    let [mass, cx, cy] = [0, 0, 0];
    for (let i = 0; i < 784; i++) {
      const v = gray[4 * i] / 255;
      mass += v;
      cx += v * (i % 28);
      cy += v * Math.floor(i / 28);
    }
    const dx = Math.round(13.5 - cx / mass);
    const dy = Math.round(13.5 - cy / mass);
    const out = new Float32Array(32 * 32);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const [sx, sy] = [x - dx, y - dy];
        if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[(y + 2) * 32 + x + 2] = gray[4 * (sy * 28 + sx)] / 255;
      }
    }
    return out;
  }

  private point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.canvas.width) / r.width, ((e.clientY - r.top) * this.canvas.height) / r.height];
  }

  private stroke(e: PointerEvent): void {
    const c = this.ctx;
    c.strokeStyle = 'white';
    c.lineWidth = this.canvas.width / 12;
    c.lineCap = c.lineJoin = 'round';
    c.lineTo(...this.point(e));
    c.stroke();
    this.inked = true;
  }
}
