import Fastify from 'fastify';
import { REQUEST_ID, SHAPED_VERDICT } from './shaped-verdict.js';

const app = Fastify();
app.get('/', async () => ({ hello: 'world' }));
// The shape of a key check with none of its work: what Fastify itself costs for a JSON POST with schemas.
app.post(
  '/verify-shaped',
  {
    schema: {
      body: {
        type: 'object',
        properties: { key: { type: 'string', maxLength: 4096 } },
        required: ['key'],
      },
      response: {
        200: {
          type: 'object',
          properties: {
            valid: { type: 'boolean' },
            client: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
            key: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                preview: { type: 'string' },
                scopes: { type: 'array', items: { type: 'string' } },
                metadata: { anyOf: [{ type: 'object', additionalProperties: true }, { type: 'null' }] },
              },
            },
            notes: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
  },
  async (_request, reply) => {
    reply.header('x-request-id', REQUEST_ID);
    return SHAPED_VERDICT;
  },
);
await app.listen({ port: 0, host: '127.0.0.1' });
process.send({ port: app.server.address().port });
process.on('disconnect', () => process.exit());
