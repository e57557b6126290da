import { ClipNadError } from "../../errors";

/**
 * The attention-sink fix of the paper code (`interpolate_sink`, paper.md §A.9 step 5, §A.13): CLIP-ResNet's pool
 * attends mostly to the last (bottom-right) token, so in a token map that token is replaced by the mean of its
 * west, north and north-west neighbours. One map of a grid×grid token grid, row-major, token i at
 * `data[offset + i·stride]`; in place.
 */
export function interpolateSink(data: Float32Array, offset: number, stride: number, grid: number): void {
  if (grid < 2)
    throw new ClipNadError(`the attention-sink fix needs a token grid of at least 2×2, got ${grid}×${grid}`);
  const K = grid * grid;
  const at = (i: number) => data[offset + i * stride];
  const west = K - 2,
    north = K - 1 - grid,
    northWest = K - 2 - grid;
  data[offset + (K - 1) * stride] = (at(west) + at(north) + at(northWest)) / 3;
}
