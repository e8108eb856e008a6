import { beforeAll, describe, expect, it } from 'vitest';
import * as profiles from './fixtures/profile-module.ts';
import { createTestPlane, type TestPlane } from './fixtures/test-plane.ts';

// Expected values follow the fixture's rules, written out here: profile id = member id × 10,
// email `p<profile id>@example.com`, age 20 + profile id mod 50; member 0 has no profile.
const profileOf = (member: number) => {
  const id = member * 10;
  return { id, email: `p${id}@example.com`, age: 20 + (id % 50) };
};

let plane: TestPlane;
beforeAll(async () => {
  plane = await createTestPlane({ module: profiles });
});

async function query(body: unknown) {
  const response = await plane.app.inject({
    method: 'POST',
    url: '/v1/query/online',
    headers: { authorization: `Bearer ${await plane.token()}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  expect(response.statusCode).toBe(200);
  return response.json();
}

describe('a has-one asked for as a whole', () => {
  it('answers a struct, as a positional list by default (field order of the related class)', async () => {
    const body = await query({ inputs: { 'member.id': 3 }, outputs: ['member.profile'] });
    expect(body.errors).toEqual([]);
    const expected = profileOf(3);
    expect(body.data).toEqual([
      expect.objectContaining({
        field: 'member.profile',
        pkey: 3,
        valid: true,
        value: [expected.id, expected.email, expected.age],
      }),
    ]);
  });

  it('answers an object with encode_structs_as_objects', async () => {
    const body = await query({
      inputs: { 'member.id': 4 },
      outputs: ['member.profile', 'member.profile.email'],
      encoding_options: { encode_structs_as_objects: true },
    });
    expect(body.errors).toEqual([]);
    expect(body.data.map((d: { field: string; value: unknown }) => [d.field, d.value])).toEqual([
      ['member.profile', profileOf(4)],
      ['member.profile.email', profileOf(4).email],
    ]);
  });

  it('answers null when the relation finds no row', async () => {
    const body = await query({
      inputs: { 'member.id': 0 },
      outputs: ['member.profile'],
      encoding_options: { encode_structs_as_objects: true },
    });
    expect(body.data[0]).toMatchObject({ field: 'member.profile', value: null });
  });

  it('encodes struct features the same way: positional by default, objects when asked', async () => {
    // The fixture's badge: label `m<id>`, level id + 1.
    const plain = await query({ inputs: { 'member.id': 6 }, outputs: ['member.badge'] });
    expect(plain.data[0]).toMatchObject({ field: 'member.badge', value: ['m6', 7] });
    const objects = await query({
      inputs: { 'member.id': 6 },
      outputs: ['member.badge'],
      encoding_options: { encode_structs_as_objects: true },
    });
    expect(objects.data[0]).toMatchObject({ field: 'member.badge', value: { label: 'm6', level: 7 } });
  });
});
