import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from 'onnx-buf';

/**
 * Small ONNX models written as protobuf (onnx's published `onnx.proto`, compiled by `onnx-buf`) so tests
 * build the artifacts they run instead of shipping opaque binaries, and check predictions against the same
 * arithmetic done by hand.
 */

const FLOAT = TensorProto_DataType.FLOAT;

function floatTensor(name: string, dims: readonly number[], values: readonly number[]) {
  return create(TensorProtoSchema, {
    name,
    dims: dims.map(BigInt),
    dataType: FLOAT,
    floatData: [...values],
  });
}

/** A float tensor value `[batch, width]` with a symbolic batch dimension. */
function matrixValue(name: string, width: number) {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: FLOAT,
          shape: create(TensorShapeProtoSchema, {
            dim: [
              create(TensorShapeProto_DimensionSchema, { value: { case: 'dimParam', value: 'batch' } }),
              create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(width) } }),
            ],
          }),
        }),
      },
    }),
  });
}

function node(opType: string, inputs: string[], outputs: string[]) {
  return create(NodeProtoSchema, { opType, input: inputs, output: outputs, name: `${opType}_${outputs[0]}` });
}

function model(graph: Parameters<typeof create<typeof GraphProtoSchema>>[1]): Uint8Array {
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: 'slate-tests',
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
      graph: create(GraphProtoSchema, graph),
    }),
  );
}

export interface LinearModelOptions {
  /** One weight per input column. */
  readonly weights: readonly number[];
  readonly bias: number;
  /** Applies the logistic function to the score (a logistic regression). Default false. */
  readonly sigmoid?: boolean;
  readonly inputName?: string;
  readonly outputName?: string;
}

/**
 * `y = x · w + b` (optionally `sigmoid(...)`) over input `x: float[batch, n]`, output `y: float[batch, 1]`.
 *
 * @example
 * const bytes = linearOnnxModel({ weights: [0.5, -2], bias: 1 }); // y = 0.5·x0 − 2·x1 + 1
 */
export function linearOnnxModel(options: LinearModelOptions): Uint8Array {
  const input = options.inputName ?? 'x';
  const output = options.outputName ?? 'y';
  const n = options.weights.length;
  const scored = options.sigmoid ? 'score' : output;
  const nodes = [node('MatMul', [input, 'W'], ['xw']), node('Add', ['xw', 'B'], [scored])];
  if (options.sigmoid) nodes.push(node('Sigmoid', ['score'], [output]));
  return model({
    name: 'linear',
    node: nodes,
    initializer: [floatTensor('W', [n, 1], options.weights), floatTensor('B', [1], [options.bias])],
    input: [matrixValue(input, n)],
    output: [matrixValue(output, 1)],
  });
}

export interface MlpModelOptions {
  /** Hidden-layer weights, `[inputs][hidden]` row-major as nested arrays. */
  readonly w1: readonly (readonly number[])[];
  readonly b1: readonly number[];
  /** Output weights, one per hidden unit. */
  readonly w2: readonly number[];
  readonly b2: number;
}

/**
 * A one-hidden-layer perceptron: `y = relu(x·W1 + b1)·w2 + b2`, input `x: float[batch, inputs]`, output
 * `y: float[batch, 1]`.
 */
export function mlpOnnxModel(options: MlpModelOptions): Uint8Array {
  const inputs = options.w1.length;
  const hidden = options.b1.length;
  return model({
    name: 'mlp',
    node: [
      node('MatMul', ['x', 'W1'], ['h0']),
      node('Add', ['h0', 'B1'], ['h1']),
      node('Relu', ['h1'], ['h']),
      node('MatMul', ['h', 'W2'], ['o0']),
      node('Add', ['o0', 'B2'], ['y']),
    ],
    initializer: [
      floatTensor('W1', [inputs, hidden], options.w1.flat()),
      floatTensor('B1', [hidden], options.b1),
      floatTensor('W2', [hidden, 1], options.w2),
      floatTensor('B2', [1], [options.b2]),
    ],
    input: [matrixValue('x', inputs)],
    output: [matrixValue('y', 1)],
  });
}

/**
 * A model that loads but fails at run time: it reshapes its input to a fixed shape no batch has, so every
 * `run` throws inside onnxruntime (the "model that throws" of the tests).
 */
export function failingOnnxModel(width: number): Uint8Array {
  const shape = create(TensorProtoSchema, {
    name: 'shape',
    dims: [2n],
    dataType: TensorProto_DataType.INT64,
    int64Data: [7n, 13n],
  });
  const allowZero = create(AttributeProtoSchema, {
    name: 'allowzero',
    type: AttributeProto_AttributeType.INT,
    i: 0n,
  });
  const reshape = node('Reshape', ['x', 'shape'], ['y']);
  reshape.attribute.push(allowZero);
  return model({
    name: 'failing',
    node: [reshape],
    initializer: [shape],
    input: [matrixValue('x', width)],
    output: [matrixValue('y', 13)],
  });
}
