/** A feature repository with a model feature (for the models end-to-end test). */
import { features, float, int, model, online } from '@slate/sdk';

export const Txn = features('txn', {
  id: int(),
  amount: float(),
  age: float(),
  score: float(),
});

export const fraudModel = model<{ x: number[] }, { y: number }>('fraud_model', { alias: 'production' });

export const score = online({
  inputs: { amount: Txn.amount, age: Txn.age },
  outputs: { score: Txn.score },
  fn: async ({ amount, age }) => {
    const [out] = await fraudModel.predict([{ x: [amount, age] }]);
    return { score: out!.y };
  },
});
