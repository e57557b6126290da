/**
 * Inside tests for each shape kind in unit object coordinates: (x, y) in about [-1, 1]², y pointing UP.
 * The rasteriser maps pixel samples into these coordinates (translation, rotation, scale by radius).
 */
import { ShapeName } from "./vocab";

type Poly = Float64Array; // x0,y0,x1,y1,...

function regularPolygon(n: number, radius: number, phase: number): Poly {
  const p = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = phase + (2 * Math.PI * i) / n;
    p[2 * i] = radius * Math.cos(t);
    p[2 * i + 1] = radius * Math.sin(t);
  }
  return p;
}

function starPolygon(points: number, outer: number, inner: number): Poly {
  const p = new Float64Array(4 * points);
  for (let i = 0; i < 2 * points; i++) {
    const r = i % 2 === 0 ? outer : inner;
    const t = Math.PI / 2 + (Math.PI * i) / points;
    p[2 * i] = r * Math.cos(t);
    p[2 * i + 1] = r * Math.sin(t);
  }
  return p;
}

/** Even–odd crossing test: works for the non-convex star too. */
function insidePolygon(p: Poly, x: number, y: number): boolean {
  let inside = false;
  const n = p.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = p[2 * i], yi = p[2 * i + 1], xj = p[2 * j], yj = p[2 * j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const TRIANGLE = (() => {
  // Equilateral, pointing up, centred on its bounding box rather than its centroid.
  const p = regularPolygon(3, 1.12, Math.PI / 2);
  for (let i = 1; i < 6; i += 2) p[i] -= 0.22;
  return p;
})();
const HEXAGON = regularPolygon(6, 0.98, 0);
const STAR = starPolygon(5, 1.05, 0.45);

/** True when the point (x, y) in unit coordinates (y up) lies inside the shape. */
export function insideShape(shape: ShapeName, x: number, y: number): boolean {
  switch (shape) {
    case "circle":
      return x * x + y * y <= 0.9;
    case "square":
      return Math.abs(x) <= 0.8 && Math.abs(y) <= 0.8;
    case "triangle":
      return insidePolygon(TRIANGLE, x, y);
    case "star":
      return insidePolygon(STAR, x, y);
    case "heart": {
      // Classic implicit heart (x² + y² − 1)³ − x² y³ ≤ 0, scaled to fill the unit box.
      const hx = x * 1.2, hy = y * 1.2 + 0.15;
      const a = hx * hx + hy * hy - 1;
      return a * a * a - hx * hx * hy * hy * hy <= 0;
    }
    case "cross": {
      const ax = Math.abs(x), ay = Math.abs(y);
      return (ax <= 0.3 && ay <= 0.95) || (ay <= 0.3 && ax <= 0.95);
    }
    case "diamond":
      // A rhombus taller than wide, so it cannot be mistaken for a rotated square.
      return Math.abs(x) / 0.68 + Math.abs(y) <= 1;
    case "hexagon":
      return insidePolygon(HEXAGON, x, y);
  }
}
