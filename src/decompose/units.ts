import { ClipNadError } from "../errors";

/**
 * Units of the decomposition, addressed by name, never by position: a neuron is a channel n of Z (0..C−1), a head
 * is an attention-pool head h (0..H−1), a pair is one path neuron → head. Arrays over pairs are H×C, head-major:
 * index h·C + n (`pairIndex`).
 */
export interface Pair {
  neuron: number;
  head: number;
}

/** A pair with a score (rankings: best first). */
export interface RankedPair extends Pair {
  score: number;
}

/** A neuron with a score. */
export interface RankedNeuron {
  neuron: number;
  score: number;
}

/** A head with a score. */
export interface RankedHead {
  head: number;
  score: number;
}

export interface UnitShape {
  /** Heads. */
  H: number;
  /** Neurons. */
  C: number;
}

function checkIndex(value: unknown, count: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= count) {
    throw new ClipNadError(`${what} ${JSON.stringify(value)} is out of range: expected an integer in 0..${count - 1}`);
  }
  return value;
}

/** Validate a neuron index against C neurons. */
export function checkNeuron(shape: UnitShape, neuron: unknown): number {
  return checkIndex(neuron, shape.C, "neuron");
}

/** Validate a head index against H heads. */
export function checkHead(shape: UnitShape, head: unknown): number {
  return checkIndex(head, shape.H, "head");
}

/** Index of a pair in H×C arrays (h·C + n), after validating both fields. */
export function pairIndex(shape: UnitShape, pair: Pair): number {
  if (pair === null || typeof pair !== "object") throw new ClipNadError(`a pair is { neuron, head }, got ${JSON.stringify(pair)}`);
  return checkHead(shape, pair.head) * shape.C + checkNeuron(shape, pair.neuron);
}

/** The pair at index h·C + n of an H×C array. */
export function pairAt(shape: UnitShape, index: number): Pair {
  return { neuron: index % shape.C, head: Math.floor(index / shape.C) };
}
