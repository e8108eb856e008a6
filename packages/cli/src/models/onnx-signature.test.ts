import { linearOnnxModel, mlpOnnxModel } from '@slate/testing';
import { describe, expect, it } from 'vitest';
import { readOnnxSignature } from './onnx-signature.ts';

describe('readOnnxSignature', () => {
  it('reads inputs (not weights) and outputs with types and shapes', () => {
    expect(
      readOnnxSignature(linearOnnxModel({ weights: [1, 2, 3], bias: 0, inputName: 'features' })),
    ).toEqual({
      inputs: [{ name: 'features', type: 'float32', shape: ['batch', 3] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['batch', 1] }],
    });
    expect(readOnnxSignature(mlpOnnxModel({ w1: [[1], [2]], b1: [0], w2: [1], b2: 0 })).inputs).toEqual([
      { name: 'x', type: 'float32', shape: ['batch', 2] },
    ]);
  });

  it('refuses bytes that are not an ONNX model with MODEL_NOT_ONNX', () => {
    expect(() => readOnnxSignature(new Uint8Array([0xff, 0xff, 0xff, 0x0f]))).toThrow(
      expect.objectContaining({ code: 'MODEL_NOT_ONNX' }),
    );
  });
});
