/**
 * A GraphBuilder bound to a state dict: initializers are named by the state-dict key and keep their
 * PyTorch layout (raw float32 bytes, referenced, not copied). Layer helpers mirror torch.nn modules;
 * layout changes (Linear weight transposes) are graph nodes that ORT constant-folds at load time.
 */
import { ClipNadError } from "../errors";
import { StateDict, Tensor, numel } from "../weights/types";
import { GraphBuilder, DataType, floatAttr, rawBytes } from "./graph";

export class WeightGraph extends GraphBuilder {
  private added = new Set<string>();

  constructor(name: string, private readonly sd: StateDict, private readonly file?: string) {
    super(name);
  }

  /** The tensor for `key`, or a ClipNadError naming the key (and file). */
  tensor(key: string, shape?: number[]): Tensor {
    const t = this.sd.get(key);
    if (!t) throw new ClipNadError("missing tensor needed to build the ONNX graph", { file: this.file, key });
    if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new ClipNadError(`tensor has shape [${t.shape}], expected [${shape}]`, { file: this.file, key });
    }
    if (t.data.length !== numel(t.shape)) {
      throw new ClipNadError(`tensor data has ${t.data.length} values for shape [${t.shape}]`, { file: this.file, key });
    }
    return t;
  }

  /** Initializer named `key` (added once); returns the value name. */
  w(key: string, shape?: number[]): string {
    const t = this.tensor(key, shape);
    if (!this.added.has(key)) {
      this.added.add(key);
      this.initializer(key, { dims: t.shape.slice(), dataType: DataType.FLOAT, raw: rawBytes(t.data) });
    }
    return key;
  }

  /** y = x Wᵀ + b for nn.Linear weights `${prefix}.weight` [out,in] / `${prefix}.bias`. */
  linear(x: string, prefix: string, bias = true): string {
    const wt = this.node("Transpose", [this.w(`${prefix}.weight`)], { perm: [1, 0] });
    const y = this.node("MatMul", [x, wt]);
    return bias ? this.node("Add", [y, this.w(`${prefix}.bias`)]) : y;
  }

  /** y = x @ W for a matrix stored [in,out] (e.g. text_projection). */
  matmulKey(x: string, key: string): string {
    return this.node("MatMul", [x, this.w(key)]);
  }

  /** nn.Conv2d without bias; square kernel taken from the weight. */
  conv(x: string, key: string, stride = 1): string {
    const k = this.tensor(key).shape[2];
    const p = (k - 1) >> 1;
    return this.node("Conv", [x, this.w(key)], { kernel_shape: [k, k], strides: [stride, stride], pads: [p, p, p, p] });
  }

  /** nn.BatchNorm2d in eval mode (eps 1e-5); ORT fuses it into the preceding Conv. */
  bn(x: string, prefix: string): string {
    const ins = ["weight", "bias", "running_mean", "running_var"].map((s) => this.w(`${prefix}.${s}`));
    return this.node("BatchNormalization", [x, ...ins], { epsilon: floatAttr(1e-5) });
  }

  /** nn.LayerNorm over the last axis (eps 1e-5). */
  layerNorm(x: string, prefix: string): string {
    return this.node("LayerNormalization", [x, this.w(`${prefix}.weight`), this.w(`${prefix}.bias`)], { axis: -1, epsilon: floatAttr(1e-5) });
  }

  avgPool(x: string, k: number): string {
    return k === 1 ? x : this.node("AveragePool", [x], { kernel_shape: [k, k], strides: [k, k] });
  }

  relu(x: string, out?: string): string {
    return this.node("Relu", [x], {}, out);
  }

  reshape(x: string, shape: number[], out?: string): string {
    return this.node("Reshape", [x, this.constI64("shape", shape)], {}, out);
  }

  transpose(x: string, perm: number[]): string {
    return this.node("Transpose", [x], { perm });
  }

  scale(x: string, f: number): string {
    return this.node("Mul", [x, this.constF("scale", [], [f])]);
  }
}
