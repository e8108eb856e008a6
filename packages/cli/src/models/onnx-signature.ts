import { fromBinary } from '@bufbuild/protobuf';
import { type ModelSignature, ModelSignatureSchema, SlateError } from '@slate/graph';
import { ModelProtoSchema, TensorProto_DataType, type ValueInfoProto } from 'onnx-buf';

const TYPES: Partial<Record<TensorProto_DataType, ModelSignature[number]['type']>> = {
  [TensorProto_DataType.FLOAT]: 'float32',
  [TensorProto_DataType.DOUBLE]: 'float64',
  [TensorProto_DataType.INT32]: 'int32',
  [TensorProto_DataType.INT64]: 'int64',
  [TensorProto_DataType.BOOL]: 'bool',
  [TensorProto_DataType.STRING]: 'string',
};

/**
 * Reads the input and output tensors (name, element type, shape) of an ONNX model: what the registry stores
 * as the version's signature. Graph inputs that are initializers (weights) are not inputs.
 *
 * @throws SlateError input `MODEL_NOT_ONNX` when the bytes are not an ONNX model;
 *   input `MODEL_SIGNATURE_UNSUPPORTED` for a tensor type Slate does not feed (complex, float16, …).
 */
export function readOnnxSignature(bytes: Uint8Array): { inputs: ModelSignature; outputs: ModelSignature } {
  let graph: ReturnType<typeof fromBinary<typeof ModelProtoSchema>>['graph'];
  try {
    graph = fromBinary(ModelProtoSchema, bytes).graph;
  } catch (thrown) {
    throw new SlateError('input', 'MODEL_NOT_ONNX', `the file is not an ONNX model: ${String(thrown)}`);
  }
  if (!graph) throw new SlateError('input', 'MODEL_NOT_ONNX', 'the ONNX model has no graph');
  const weights = new Set(graph.initializer.map((t) => t.name));
  const tensor = (value: ValueInfoProto) => {
    const type = value.type?.value;
    const elem = type?.case === 'tensorType' ? type.value.elemType : undefined;
    const name = elem === undefined ? undefined : TYPES[elem as TensorProto_DataType];
    if (type?.case !== 'tensorType' || !name) {
      throw new SlateError(
        'input',
        'MODEL_SIGNATURE_UNSUPPORTED',
        `tensor ${value.name} has a type Slate cannot feed or read (${type?.case ?? 'none'} ${elem ?? ''})`,
      );
    }
    const shape = (type.value.shape?.dim ?? []).map((d) =>
      d.value.case === 'dimValue'
        ? Number(d.value.value)
        : d.value.case === 'dimParam'
          ? d.value.value
          : null,
    );
    return { name: value.name, type: name, shape };
  };
  return {
    inputs: ModelSignatureSchema.parse(graph.input.filter((v) => !weights.has(v.name)).map(tensor)),
    outputs: ModelSignatureSchema.parse(graph.output.map(tensor)),
  };
}
