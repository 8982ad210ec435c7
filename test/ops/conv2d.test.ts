import { describe, expect, it } from 'vitest';
import { reductionWorkgroup } from '../../src/gpu/gpu.ts';
import { sizeOf, Tensor } from '../../src/gpu/tensor.ts';
import { type AnyConvKernel, type ConvKernel, type Geometry, geometry } from '../../src/ops/conv2d/geometry.ts';
import { CONV_KERNELS } from '../../src/ops/conv2d/kernels.ts';
import {
  type Conv2dOptions,
  conv2d,
  conv2dBackwardBias,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dOutputShape,
} from '../../src/ops/conv2d.ts';
import { expectClose } from '../helpers/check.ts';
import { convRef, convVariantData, convVariantReference, convVariantTolerance, runConvVariant } from '../helpers/conv-reference.ts';
import { useGpu, withSubgroupSize } from '../helpers/gpu.ts';
import { checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

interface Case {
  x: number[];
  cout: number;
  k: number;
  opts: Conv2dOptions;
  bias?: boolean;
}

const describeCase = (c: Case) =>
  `x ${c.x.join('×')} → ${c.cout} ch, ${c.k}×${c.k}, stride ${c.opts.stride ?? 1}, padding ${c.opts.padding ?? 'same'}${c.bias === false ? ', no bias' : ''}`;

describe('conv2d', () => {
  const gpu = useGpu();
  const rng = new Rng(2024);

  const cases: Case[] = [
    { x: [1, 1, 5, 5], cout: 1, k: 3, opts: {} },
    { x: [2, 3, 7, 9], cout: 5, k: 3, opts: { padding: 'same' } },
    { x: [1, 6, 6, 10], cout: 9, k: 3, opts: {}, bias: false },
    { x: [2, 5, 4, 7], cout: 3, k: 1, opts: { padding: 'valid' } },
    { x: [1, 3, 9, 8], cout: 6, k: 5, opts: {} },
    { x: [2, 4, 6, 5], cout: 10, k: 3, opts: { padding: 'valid' } },
    { x: [1, 2, 5, 6], cout: 2, k: 3, opts: { padding: 2 } },
    { x: [1, 3, 1, 7], cout: 4, k: 3, opts: {} },
    { x: [2, 3, 9, 7], cout: 5, k: 3, opts: { stride: 2 } },
    { x: [1, 4, 8, 10], cout: 4, k: 3, opts: { stride: 2, padding: 'valid' } },
    { x: [2, 2, 11, 9], cout: 3, k: 3, opts: { stride: 2, padding: 1 } },
    // Seeded random shapes. Each (K, stride) pair compiles its own kernels, 1-4 s each on lavapipe,
    // so stride 2 is drawn with K = 3 only: the kernels take K and the stride as independent
    // constants, and K = 1 and 5 at stride 2 pass too but cost another ~10 s of compiles.
    ...Array.from({ length: 3 }, (): Case => {
      const k = [1, 3, 5][rng.int(0, 2)];
      const stride = (k === 3 ? rng.int(1, 2) : 1) as 1 | 2;
      const padding = (['same', 'valid', rng.int(0, 2)] as const)[rng.int(0, 2)];
      return { x: [rng.int(1, 3), rng.int(1, 6), rng.int(k, 10), rng.int(k, 10)], cout: rng.int(1, 10), k, opts: { stride, padding } };
    }),
  ];

  for (const c of cases) {
    it(describeCase(c), async () => {
      const cin = c.x[1];
      const wShape = [c.cout, cin, c.k, c.k];
      const inputs = [
        { name: 'x', shape: c.x, data: rng.uniform(sizeOf(c.x)) },
        { name: 'w', shape: wShape, data: rng.uniform(sizeOf(wShape)) },
        ...(c.bias === false ? [] : [{ name: 'b', shape: [c.cout], data: rng.uniform(c.cout) }]),
      ];
      // Forward: a sum of cin·K² products of O(1) values in f32; rounding grows at most linearly
      // with the length of that sum, so atol is the default 1e-5 per 16 terms.
      // Gradients: dW sums N·OH·OW products and dx sums Cout·K² products, each against the seed r;
      // the same linear growth applies, per 64 terms, on top of the default tolerances.
      const [, , oh, ow] = conv2dOutputShape(c.x, wShape, c.opts);
      const forwardLength = cin * c.k * c.k;
      const gradLength = Math.max(c.x[0] * oh * ow, c.cout * c.k * c.k);
      await checkOp(gpu(), {
        what: describeCase(c),
        inputs,
        reference: ([x, w, b]) => convRef(x, c.x, w, wShape, b ?? null, c.opts),
        run: ([x, w, b]) => conv2d(x, w, b ?? null, c.opts),
        forwardTol: { atol: 1e-5 * Math.max(1, forwardLength / 16), rtol: 1e-4 },
        gradTol: { atol: 1e-4 * Math.max(1, gradLength / 64), rtol: 1e-3 },
      });
    });
  }

  it('the output shape: same keeps H×W at stride 1 and gives ceil(H/2) at stride 2', () => {
    expect(conv2dOutputShape([8, 32, 32, 32], [64, 32, 3, 3])).toEqual([8, 64, 32, 32]);
    expect(conv2dOutputShape([2, 3, 9, 7], [4, 3, 5, 5], { stride: 2 })).toEqual([2, 4, 5, 4]);
    expect(conv2dOutputShape([2, 3, 9, 7], [4, 3, 3, 3], { padding: 'valid' })).toEqual([2, 4, 7, 5]);
    expect(conv2dOutputShape([2, 3, 9, 7], [4, 3, 3, 3], { stride: 2, padding: 0 })).toEqual([2, 4, 4, 3]);
  });

  // Every kernel variant of every pass, on shapes past the small gradient-check ones: several row
  // segments per row, several blocks of 8 output channels, odd channel counts, a weight gradient
  // split into row slices, and awkward ones (one channel, a 1-pixel-high image, K = 1 and 5,
  // 'valid' and wider padding). Each is compared with a direct f64 evaluation of its defining sum
  // (tolerance as above, per term). The variants run directly, not through the tuner.
  const variantCases: [number[], number, number, Conv2dOptions][] = [
    [[2, 13, 20, 19], 17, 3, {}],
    [[3, 9, 17, 21], 12, 3, { stride: 2 }],
    [[1, 1, 1, 9], 1, 3, {}],
    [[2, 5, 7, 6], 3, 1, { padding: 'valid' }],
    [[1, 3, 9, 11], 9, 5, { padding: 1 }],
    [[2, 33, 6, 5], 40, 3, { stride: 2, padding: 'valid' }],
  ];
  for (const [xShape, cout, k, opts] of variantCases) {
    const g = geometry('conv2d', xShape, [cout, xShape[1], k, k], opts);
    for (const pass of ['forward', 'input', 'weight'] as const) {
      for (const kernel of CONV_KERNELS[pass] as AnyConvKernel[]) {
        it(`${pass} kernel '${kernel.name}' against f64 sums, x ${xShape.join('×')} → ${cout} ch, ${k}×${k}, stride ${g.stride}, pad ${g.pad}`, async (ctx) => {
          const gp = gpu();
          if (kernel.applies && !kernel.applies(gp, g)) return ctx.skip(); // not for this geometry or adapter: reported as skipped
          const data = convVariantData(g, rng.int(1, 1e6));
          const got = await runConvVariant(gp, kernel, g, data);
          expectClose(
            got,
            convVariantReference(kernel.pass, g, data),
            convVariantTolerance(kernel.pass, g),
            `${pass} kernel '${kernel.name}'`,
          );
        });
      }
    }
  }

  // A weight kernel that sums dB too does it in dW's own dispatches (one slice: dw_partial alone;
  // several: dw_partial and dw_reduce), against the f64 sums of dy per output channel.
  for (const [xShape, cout, k, opts] of variantCases) {
    const g = geometry('conv2d', xShape, [cout, xShape[1], k, k], opts);
    for (const kernel of CONV_KERNELS.weight.filter((kernel) => kernel.sumsBias)) {
      it(`weight kernel '${kernel.name}' sums dB in dW's dispatches, x ${xShape.join('×')} → ${cout} ch, ${k}×${k}, stride ${g.stride}, pad ${g.pad}`, async () => {
        const gp = gpu();
        const data = convVariantData(g, rng.int(1, 1e6));
        const x = gp.persistent([g.n, g.cin, g.h, g.w], data.x);
        const dy = gp.persistent([g.n, g.cout, g.oh, g.ow], data.dy);
        const db = gp.persistent([g.cout]);
        let before = gp.dispatchCount;
        const dw = kernel.run(gp, { dy, x, db }, g);
        const withBias = gp.dispatchCount - before;
        before = gp.dispatchCount;
        kernel.run(gp, { dy, x }, g);
        expect(withBias).toBe(gp.dispatchCount - before);
        const [gotDw, gotDb] = await Promise.all([dw.read(), db.read()]);
        gp.endStep();
        const plane = g.oh * g.ow;
        const dbRef = new Float64Array(g.cout);
        for (let i = 0; i < data.dy.length; i++) dbRef[Math.floor(i / plane) % g.cout] += data.dy[i];
        const tol = convVariantTolerance('weight', g); // the same N·OH·OW terms per sum as dW
        expectClose(gotDw, convVariantReference('weight', g, data), tol, `weight kernel '${kernel.name}' dW beside dB`);
        expectClose(gotDb, dbRef, tol, `weight kernel '${kernel.name}' dB`);
        for (const t of [x, dy, db]) t.destroy();
      });
    }
  }

  it("packed: a forward pass that packs the input gradient's weights too (one dispatch) saves that pass a repack, with the same y and dx", async () => {
    const gp = gpu();
    const g = geometry('conv2d', [2, 5, 9, 12], [11, 5, 3, 3]);
    const tensor = (shape: number[]) => gp.persistent(shape, Float32Array.from(rng.uniform(sizeOf(shape))));
    const [x, w, b, dy] = [tensor([2, 5, 9, 12]), tensor([11, 5, 3, 3]), tensor([11]), tensor([2, 11, 9, 12])];
    const kernel = <P extends 'forward' | 'input'>(pass: P) =>
      (CONV_KERNELS[pass] as AnyConvKernel[]).find((k) => k.name === 'packed') as ConvKernel<P>;
    const dispatches = <T>(fn: () => T): [T, number] => {
      const before = gp.dispatchCount;
      const result = fn();
      return [result, gp.dispatchCount - before];
    };
    const [pair, pairCount] = dispatches(() => kernel('forward').run(gp, { x, w, b, packForInput: true }, g));
    const [alone, aloneCount] = dispatches(() => kernel('forward').run(gp, { x, w, b }, g));
    expect([pairCount, aloneCount]).toEqual([3, 3]); // pad, repack (both layouts, or one), conv
    expect(pair.wPacked?.layout).toBe('packed, flipped');
    expect(alone.wPacked).toBeUndefined();
    const [dxReused, reusedCount] = dispatches(() => kernel('input').run(gp, { dy, w, wPacked: pair.wPacked }, g));
    const [dxFresh, freshCount] = dispatches(() => kernel('input').run(gp, { dy, w }, g));
    expect([reusedCount, freshCount]).toEqual([2, 3]); // pad, conv; pad, repack, conv
    const [y1, y2, dx1, dx2] = await Promise.all([pair.y, alone.y, dxReused, dxFresh].map((t) => t.read()));
    expect(y1).toEqual(y2);
    expect(dx1).toEqual(dx2);
    gp.endStep();
    for (const t of [x, w, b, dy]) t.destroy();
  });

  // The conv kernel reads a dispatch's weights from one uniform binding of at most 64 KiB: a layer
  // with more is dispatched a few blocks of 8 output channels at a time (each binding its window,
  // the last one padded with zeros), and a block of its own over 64 KiB reads storage instead.
  const uniformCases: [string, number[], number, Record<'forward' | 'input', number>][] = [
    // forward: 5 blocks of 18.3 KiB, 3 per binding; input: 8 blocks of 11.5 KiB, 5 per binding
    ['several uniform windows', [1, 64, 3, 5], 40, { forward: 2, input: 2 }],
    // forward: one block of 67.8 KiB, from storage; input: 30 blocks of 2.75 KiB, 23 per binding
    ['a block over 64 KiB reads storage', [1, 240, 2, 3], 9, { forward: 1, input: 2 }],
  ];
  for (const [what, xShape, cout, convDispatches] of uniformCases) {
    it(`packed: ${what}, x ${xShape.join('×')} → ${cout} ch, against f64 sums`, async () => {
      const gp = gpu();
      const g = geometry('conv2d', xShape, [cout, xShape[1], 3, 3]);
      const data = convVariantData(g, 91);
      for (const pass of ['forward', 'input'] as const) {
        const kernel = (CONV_KERNELS[pass] as AnyConvKernel[]).find((k) => k.name === 'packed')!;
        const before = gp.dispatchCount;
        const got = await runConvVariant(gp, kernel, g, data);
        expect(gp.dispatchCount - before, `${pass}: pad, repack, conv dispatches`).toBe(2 + convDispatches[pass]);
        expectClose(got, convVariantReference(pass, g, data), convVariantTolerance(pass, g), `${pass} kernel 'packed', ${what}`);
      }
    });
  }

  it('packed: a 1×1 conv whose rows are whole segments (32 wide) reads x and dy as they are, without a padding copy', async () => {
    const gp = gpu();
    const g = geometry('conv2d', [2, 6, 3, 32], [5, 6, 1, 1]);
    const data = convVariantData(g, 77);
    for (const pass of ['forward', 'input'] as const) {
      const kernel = (CONV_KERNELS[pass] as AnyConvKernel[]).find((k) => k.name === 'packed')!;
      const before = gp.dispatchCount;
      const got = await runConvVariant(gp, kernel, g, data);
      expect(gp.dispatchCount - before, `${pass}: repack, conv`).toBe(2);
      expectClose(got, convVariantReference(pass, g, data), convVariantTolerance(pass, g), `${pass} kernel 'packed', 1×1`);
    }
  });

  it("packed: the forward pass reads x as x's producer padded it (its paddedX layout), one dispatch fewer, the same y", async () => {
    const gp = gpu();
    const g = geometry('conv2d', [2, 5, 9, 12], [7, 5, 3, 3]);
    const data = convVariantData(g, 6);
    const kernel = (CONV_KERNELS.forward as AnyConvKernel[]).find((k) => k.name === 'packed') as ConvKernel<'forward'>;
    const layout = kernel.paddedX!(g);
    const x = gp.persistent([g.n, g.cin, g.h, g.w], data.x);
    const w = gp.persistent([g.cout, g.cin, g.k, g.k], data.w);
    const b = gp.persistent([g.cout], data.b);
    const padded = new Float32Array(g.n * g.cin * layout.ph * layout.pw);
    for (let plane = 0; plane < g.n * g.cin; plane++)
      for (let iy = 0; iy < g.h; iy++)
        for (let ix = 0; ix < g.w; ix++)
          padded[(plane * layout.ph + iy + layout.top) * layout.pw + ix + layout.left] = data.x[(plane * g.h + iy) * g.w + ix];
    const xPadded = gp.persistent([g.n, g.cin, layout.ph, layout.pw], padded);
    const before = gp.dispatchCount;
    const fromPadded = kernel.run(gp, { x, xPadded, w, b }, g);
    const middle = gp.dispatchCount;
    const fromX = kernel.run(gp, { x, w, b }, g);
    expect([middle - before, gp.dispatchCount - middle]).toEqual([2, 3]); // repack, conv; pad, repack, conv
    expect(fromPadded.xPadded).toBe(xPadded); // what the weight gradient then reads
    const [a, c] = await Promise.all([fromPadded.y.read(), fromX.y.read()]);
    gp.endStep();
    expect(a).toEqual(c);
    expectClose(a, convVariantReference('forward', g, data), convVariantTolerance('forward', g), 'forward from padded x');
    for (const t of [x, w, b, xPadded]) t.destroy();
  });

  it("packed: the input gradient reads dy as dy's producer padded it (its paddedDy layout), one dispatch fewer, the same dx", async () => {
    const gp = gpu();
    for (const opts of [{}, { stride: 2 }] as Conv2dOptions[]) {
      const g = geometry('conv2d', [2, 5, 9, 12], [7, 5, 3, 3], opts);
      const data = convVariantData(g, 5);
      const kernel = (CONV_KERNELS.input as AnyConvKernel[]).find((k) => k.name === 'packed') as ConvKernel<'input'>;
      const layout = kernel.paddedDy!(g);
      const dyShape = [g.n, g.cout, g.oh, g.ow];
      const dy = gp.persistent(dyShape, data.dy);
      const w = gp.persistent([g.cout, g.cin, g.k, g.k], data.w);
      // dy padded on the CPU, as a producer writes it.
      const padded = new Float32Array(g.n * g.cout * layout.ph * layout.pw);
      for (let plane = 0; plane < g.n * g.cout; plane++)
        for (let oy = 0; oy < g.oh; oy++)
          for (let ox = 0; ox < g.ow; ox++) {
            const [py, px] = [layout.top + oy * layout.dilation, layout.left + ox * layout.dilation];
            padded[(plane * layout.ph + py) * layout.pw + px] = data.dy[(plane * g.oh + oy) * g.ow + ox];
          }
      const dyPadded = gp.persistent([g.n, g.cout, layout.ph, layout.pw], padded);
      const before = gp.dispatchCount;
      const fromPadded = kernel.run(gp, { dy, dyPadded, w }, g);
      const middle = gp.dispatchCount;
      const fromDy = kernel.run(gp, { dy, w }, g);
      expect([middle - before, gp.dispatchCount - middle]).toEqual([2, 3]); // repack, conv; pad, repack, conv
      const [a, b] = await Promise.all([fromPadded.read(), fromDy.read()]);
      gp.endStep();
      expect(a).toEqual(b);
      expectClose(a, convVariantReference('input', g, data), convVariantTolerance('input', g), `input from padded dy, stride ${g.stride}`);
      for (const t of [dy, w, dyPadded]) t.destroy();
    }
  });

  it('the subgroup kernels apply where the device has subgroups (lavapipe does), so the checks above run them', () => {
    const gp = gpu();
    if (/llvmpipe/i.test(gp.info.description)) expect(gp.info.hasSubgroups).toBe(true);
    if (!gp.info.hasSubgroups) return; // another adapter: the checks above skip them there
    const names = (pass: 'forward' | 'input' | 'weight', g: Geometry) =>
      (CONV_KERNELS[pass] as AnyConvKernel[]).filter((k) => k.applies?.(gp, g) ?? true).map((k) => k.name);
    const stride1 = geometry('conv2d', [2, 13, 20, 19], [17, 13, 3, 3]);
    const stride2 = geometry('conv2d', [3, 9, 17, 21], [12, 9, 3, 3], { stride: 2 });
    for (const pass of ['forward', 'input', 'weight'] as const) expect(names(pass, stride1)).toContain('subgroup');
    expect(names('forward', stride2)).toContain('subgroup');
    expect(names('weight', stride2)).toContain('subgroup');
    expect(names('input', stride2)).not.toContain('subgroup'); // stride 1 only (see the shader)
    for (const pass of ['forward', 'input', 'weight'] as const) expect(names(pass, stride2)).toContain('direct');
  });

  // dB's reduction runs one subgroup per workgroup where the adapter says its size
  // (reductionWorkgroup): SwiftShader's 4 lanes, lavapipe's 8, and 64 where no size is known.
  for (const [subgroup, lanes] of [
    [4, 4],
    [8, 8],
    [0, 64],
  ]) {
    it(`dB at ${lanes} lanes per workgroup matches the f64 sum`, async () => {
      const g = withSubgroupSize(gpu(), subgroup);
      expect(reductionWorkgroup(g.info)).toBe(lanes);
      const [n, c, h, w] = [3, 5, 7, 9];
      const dy = rng.uniform(n * c * h * w);
      const expected = new Float64Array(c);
      for (let i = 0; i < dy.length; i++) expected[Math.floor(i / (h * w)) % c] += dy[i];
      const db = conv2dBackwardBias(g.persistent([n, c, h, w], dy));
      expectClose(await db.read(), expected, { atol: 1e-5, rtol: 1e-5 }, `dB, subgroup ${subgroup}`);
      g.endStep();
    });
  }

  it('a large batch folds its dispatch into 2-D (over 65535 workgroups)', async () => {
    // 1×1 conv, y = 2x + 1: N·H·ceil(W/4) = 2^20 · 4 invocations = 65536 workgroups of 64.
    const g = gpu();
    const xShape = [1 << 20, 1, 4, 1];
    const n = sizeOf(xShape);
    const xs = new Float32Array(n).map((_, i) => (i % 7) - 3);
    const x = g.persistent(xShape, xs);
    const w = g.persistent([1, 1, 1, 1], [2]);
    const b = g.persistent([1], [1]);
    const y = await conv2d(x, w, b, { padding: 'valid' }).read();
    g.endStep();
    const idx = [0, 1, 12345, n - 1, n - 2];
    expectClose(
      idx.map((i) => y[i]),
      idx.map((i) => 2 * xs[i] + 1),
      { atol: 0, rtol: 0 },
      'y = 2x + 1',
    );
    for (const t of [x, w, b]) t.buffer.destroy();
  });

  describe('rejects bad input before dispatching', () => {
    const bad: [string, () => unknown, RegExp][] = [
      [
        'x of rank 3',
        () => conv2d(gpu().persistent([3, 5, 5]), gpu().persistent([4, 3, 3, 3]), null),
        /conv2d: x must have rank 4 \(N, C, H, W\), got shape \[3, 5, 5\]/,
      ],
      [
        'Cin mismatch',
        () => conv2d(gpu().persistent([1, 3, 5, 5]), gpu().persistent([4, 2, 3, 3]), null),
        /conv2d: x \[1, 3, 5, 5\] has 3 channels but w \[4, 2, 3, 3\] expects 2/,
      ],
      [
        'bias shape',
        () => conv2d(gpu().persistent([1, 3, 5, 5]), gpu().persistent([4, 3, 3, 3]), gpu().persistent([3])),
        /conv2d: bias b must have shape \[4\], got \[3\]/,
      ],
      [
        'zero-size x',
        () => conv2d(new Tensor(gpu(), [1, 0, 5, 5], gpu().persistent([1]).buffer), gpu().persistent([4, 3, 3, 3]), null),
        /conv2d: x must be \[N, Cin, H, W\] with positive sizes, got \[1, 0, 5, 5\]/,
      ],
      [
        'batch over the storage binding limit',
        () => conv2d(new Tensor(gpu(), [4096, 96, 32, 32], gpu().persistent([1]).buffer), gpu().persistent([32, 96, 3, 3]), null),
        /conv2d: x \[4096, 96, 32, 32\] is 1610612736 bytes, over the \d+-byte storage binding limit; lower the batch size/,
      ],
      [
        'kernel larger than padded input',
        () => conv2d(gpu().persistent([1, 1, 3, 3]), gpu().persistent([1, 1, 5, 5]), null, { padding: 'valid' }),
        /conv2d: kernel 5×5 is larger than the padded input \(x \[1, 1, 3, 3\], padding 0\)/,
      ],
      [
        'even kernel',
        () => conv2d(gpu().persistent([1, 1, 5, 5]), gpu().persistent([1, 1, 2, 2]), null),
        /conv2d: kernel must be square with an odd size K, got w \[1, 1, 2, 2\]/,
      ],
      [
        'stride 3',
        () => conv2d(gpu().persistent([1, 1, 5, 5]), gpu().persistent([1, 1, 3, 3]), null, { stride: 3 as 1 }),
        /conv2d: stride must be 1 or 2, got 3/,
      ],
      [
        'negative padding',
        () => conv2d(gpu().persistent([1, 1, 5, 5]), gpu().persistent([1, 1, 3, 3]), null, { padding: -1 }),
        /conv2d: padding must be 'same', 'valid' or a non-negative integer, got -1/,
      ],
      [
        'dy shape (input gradient)',
        () => conv2dBackwardInput(gpu().persistent([1, 4, 5, 4]), gpu().persistent([4, 3, 3, 3]), [1, 3, 5, 5]),
        /conv2d backward input: dy must have shape \[1, 4, 5, 5\], got \[1, 4, 5, 4\]/,
      ],
      [
        'dy shape (weight gradient)',
        () => conv2dBackwardWeight(gpu().persistent([1, 4, 5, 5]), gpu().persistent([1, 3, 5, 5]), [4, 3, 3, 3], { stride: 2 }),
        /conv2d backward weight: dy must have shape \[1, 4, 3, 3\], got \[1, 4, 5, 5\]/,
      ],
      [
        'dy rank (bias gradient)',
        () => conv2dBackwardBias(gpu().persistent([4, 9])),
        /conv2d backward bias: dy must have rank 4 \(N, C, H, W\), got shape \[4, 9\]/,
      ],
    ];
    for (const [what, call, message] of bad) {
      it(what, () => {
        const before = gpu().dispatchCount;
        expect(call).toThrow(message);
        expect(gpu().dispatchCount).toBe(before);
      });
    }
  });
});
