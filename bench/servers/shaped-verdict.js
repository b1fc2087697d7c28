/** What the reference servers answer to a key-check-shaped POST: a valid verdict of the size Gatehouse sends. */
export const REQUEST_ID = '01a20c6d-0378-7065-b97a-6e729275604c';

export const SHAPED_VERDICT = {
  valid: true,
  client: { id: REQUEST_ID, name: 'bench fleet' },
  key: { id: REQUEST_ID, preview: 'gk_0b96e3f3_…HSmB', scopes: ['agent'], metadata: null },
  notes: [],
};
