/**
 * Bit-exact port of Pillow 9.4's resampling (libImaging/Resample.c, Geometry.c, Convert.c) for 8-bit images,
 * as used by torchvision's `Resize(n, BICUBIC)` on a PIL image inside CLIP's preprocessing.
 * Images are interleaved HWC Uint8Arrays with `channels` samples per pixel.
 */

export interface RawImage {
  width: number;
  height: number;
  /** 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA). */
  channels: number;
  data: Uint8Array;
}

// Pillow: 32 bits minus 8 for the result minus 2 for overflow of negative lobes.
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Pillow's bicubic kernel (a = -0.5), same operation order as the C code. */
function bicubicFilter(x: number): number {
  const a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
const BICUBIC_SUPPORT = 2.0;

interface Coeffs {
  ksize: number;
  bounds: Int32Array; // [xmin, count] per output sample
  kk: Float64Array; // fixed-point integers (stored in doubles: exact), for 8-bit images
  kd: Float64Array; // the normalised double weights, for 32-bit ("I") images
}

/** precompute_coeffs + normalize_coeffs_8bpc: antialiased weights, support scaled by the downscale factor. */
function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number): Coeffs {
  const scale = (in1 - in0) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = BICUBIC_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const kk = new Float64Array(outSize * ksize);
  const kd = new Float64Array(outSize * ksize);
  const bounds = new Int32Array(outSize * 2);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    let ww = 0.0;
    const ss = 1.0 / filterscale;
    let xmin = Math.trunc(center - support + 0.5); // C (int) cast truncates toward zero
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    for (let x = 0; x < xmax; x++) {
      const w = bicubicFilter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      let v = x < xmax ? k[x] : 0;
      if (x < xmax && ww !== 0.0) v /= ww;
      kd[xx * ksize + x] = v;
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk, kd };
}

/** clip8: fixed-point sum → 0..255 (arithmetic shift, then clamp like Pillow's lookup table). */
function clip8(ss: number): number {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resampleHorizontal(src: RawImage, outW: number, rowFirst: number, rowCount: number, c: Coeffs): RawImage {
  const ch = src.channels;
  const inp = src.data;
  const kk = c.kk;
  const out = new Uint8Array(outW * rowCount * ch);
  for (let yy = 0; yy < rowCount; yy++) {
    const rowIn = (yy + rowFirst) * src.width * ch;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = c.bounds[xx * 2];
      const xmax = c.bounds[xx * 2 + 1];
      const kOff = xx * c.ksize;
      const o = (yy * outW + xx) * ch;
      let p = rowIn + xmin * ch;
      if (ch === 3) {
        // the common case, unrolled over channels like Pillow's 4-byte pixel loop
        let s0 = HALF, s1 = HALF, s2 = HALF;
        for (let x = 0; x < xmax; x++, p += 3) {
          const k = kk[kOff + x];
          s0 += inp[p] * k;
          s1 += inp[p + 1] * k;
          s2 += inp[p + 2] * k;
        }
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      } else {
        for (let b = 0; b < ch; b++) {
          let ss = HALF;
          for (let x = 0, q = p + b; x < xmax; x++, q += ch) ss += inp[q] * kk[kOff + x];
          out[o + b] = clip8(ss);
        }
      }
    }
  }
  return { width: outW, height: rowCount, channels: ch, data: out };
}

function resampleVertical(src: RawImage, outH: number, c: Coeffs, shift: number): RawImage {
  const ch = src.channels;
  const rowLen = src.width * ch;
  const out = new Uint8Array(outH * rowLen);
  const acc = new Float64Array(rowLen);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = c.bounds[yy * 2] - shift;
    const ymax = c.bounds[yy * 2 + 1];
    const kOff = yy * c.ksize;
    acc.fill(HALF);
    // accumulate whole rows: contiguous reads instead of a strided walk down each column
    for (let y = 0; y < ymax; y++) {
      const k = c.kk[kOff + y];
      const row = (y + ymin) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += src.data[row + i] * k;
    }
    const o = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]);
  }
  return { width: src.width, height: outH, channels: ch, data: out };
}

/** ImagingResampleInner with the bicubic filter on the full box: horizontal pass, then vertical pass. */
function bicubicPlanar(img: RawImage, outW: number, outH: number): RawImage {
  const needH = outW !== img.width;
  const needV = outH !== img.height;
  const ch = precomputeCoeffs(img.width, 0, img.width, outW);
  const cv = precomputeCoeffs(img.height, 0, img.height, outH);
  const yFirst = cv.bounds[0];
  const yLast = cv.bounds[outH * 2 - 2] + cv.bounds[outH * 2 - 1];
  let cur = img;
  let shift = 0;
  if (needH) {
    cur = resampleHorizontal(img, outW, yFirst, yLast - yFirst, ch); // only the rows the vertical pass reads
    shift = yFirst;
  }
  if (needV) cur = resampleVertical(cur, outH, cv, shift);
  if (cur === img) cur = { ...img, data: img.data.slice() };
  return cur;
}

/** MULDIV255 from Pillow: round(a·b/255) in integers. */
export function mulDiv255(a: number, b: number): number {
  const tmp = a * b + 128;
  return ((tmp >> 8) + tmp) >> 8;
}

/** RGBA→RGBa / LA→La (premultiply the colour channels by alpha). */
function premultiply(img: RawImage): RawImage {
  const ch = img.channels;
  const out = new Uint8Array(img.data.length);
  for (let p = 0; p < img.data.length; p += ch) {
    const alpha = img.data[p + ch - 1];
    for (let b = 0; b < ch - 1; b++) out[p + b] = mulDiv255(img.data[p + b], alpha);
    out[p + ch - 1] = alpha;
  }
  return { ...img, data: out };
}

/** RGBa→RGBA / La→LA: divide by alpha (alpha 0 or 255 keeps the stored values, like rgba2rgbA). */
function unpremultiply(img: RawImage): RawImage {
  const ch = img.channels;
  const out = new Uint8Array(img.data.length);
  for (let p = 0; p < img.data.length; p += ch) {
    const alpha = img.data[p + ch - 1];
    for (let b = 0; b < ch - 1; b++) {
      const v = img.data[p + b];
      out[p + b] = alpha === 255 || alpha === 0 ? v : Math.min(255, Math.floor((255 * v) / alpha));
    }
    out[p + ch - 1] = alpha;
  }
  return { ...img, data: out };
}

/**
 * PIL `Image.resize(size, BICUBIC)` for modes L, LA, RGB, RGBA, CMYK (`channels` 1–4). Same size → copy;
 * LA/RGBA (alpha last) are resampled premultiplied, as Pillow does; pass hasAlpha=false for CMYK.
 */
export function pilResizeBicubic(img: RawImage, outW: number, outH: number, hasAlpha = img.channels === 2 || img.channels === 4): RawImage {
  if (outW === img.width && outH === img.height) return { ...img, data: img.data.slice() };
  if (hasAlpha) return unpremultiply(bicubicPlanar(premultiply(img), outW, outH));
  return bicubicPlanar(img, outW, outH);
}

/** PIL `Image.resize(size, NEAREST)` (ImagingScaleAffine): what Pillow uses for palette ("P") and 1-bit images. */
export function pilResizeNearest(img: RawImage, outW: number, outH: number): RawImage {
  if (outW === img.width && outH === img.height) return { ...img, data: img.data.slice() };
  const ch = img.channels;
  const a0 = img.width / outW;
  const a4 = img.height / outH;
  const coord = (v: number) => (v < 0.0 ? -1 : Math.trunc(v));
  const xin = new Int32Array(outW);
  let xo = a0 * 0.5; // accumulated like the C loop (xo += a[0])
  for (let x = 0; x < outW; x++) {
    xin[x] = Math.min(coord(xo), img.width - 1);
    xo += a0;
  }
  const out = new Uint8Array(outW * outH * ch);
  let yo = a4 * 0.5;
  for (let y = 0; y < outH; y++) {
    const yi = Math.min(coord(yo), img.height - 1);
    for (let x = 0; x < outW; x++) {
      const s = (yi * img.width + xin[x]) * ch;
      const d = (y * outW + x) * ch;
      for (let b = 0; b < ch; b++) out[d + b] = img.data[s + b];
    }
    yo += a4;
  }
  return { width: outW, height: outH, channels: ch, data: out };
}

/** C's ROUND_UP for the 32-bit paths: round half away from zero, then truncate to int. */
function roundUp(f: number): number {
  return Math.trunc(f >= 0.0 ? f + 0.5 : f - 0.5);
}

/**
 * PIL `Image.resize(size, BICUBIC)` for a single-channel 32-bit integer image (mode "I", e.g. a 16-bit grey PNG):
 * double weights, ROUND_UP to int after each pass (ImagingResample{Horizontal,Vertical}_32bpc).
 */
export function pilResizeBicubicInt(values: Int32Array, width: number, height: number, outW: number, outH: number): Int32Array {
  if (outW === width && outH === height) return values.slice();
  let cur = values;
  let w = width;
  if (outW !== width) {
    const c = precomputeCoeffs(width, 0, width, outW);
    const next = new Int32Array(outW * height);
    for (let y = 0; y < height; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const xmin = c.bounds[xx * 2];
        const xmax = c.bounds[xx * 2 + 1];
        let ss = 0.0;
        for (let x = 0; x < xmax; x++) ss += cur[y * w + x + xmin] * c.kd[xx * c.ksize + x];
        next[y * outW + xx] = roundUp(ss);
      }
    }
    cur = next;
    w = outW;
  }
  if (outH !== height) {
    const c = precomputeCoeffs(height, 0, height, outH);
    const next = new Int32Array(w * outH);
    for (let yy = 0; yy < outH; yy++) {
      const ymin = c.bounds[yy * 2];
      const ymax = c.bounds[yy * 2 + 1];
      for (let x = 0; x < w; x++) {
        let ss = 0.0;
        for (let y = 0; y < ymax; y++) ss += cur[(y + ymin) * w + x] * c.kd[yy * c.ksize + y];
        next[yy * w + x] = roundUp(ss);
      }
    }
    cur = next;
  }
  return cur;
}
