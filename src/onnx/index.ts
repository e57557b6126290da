export { ProtoWriter } from "./proto";
export {
  GraphBuilder, DataType, DataTypeCode, IR_VERSION, OPSET, Attrs, AttrValue, TensorData,
  floatAttr, floatTensor, int64Tensor, rawBytes, readProducerVersion, writeChunksAtomic,
} from "./graph";
