import { createServer } from 'node:http';
import { REQUEST_ID, SHAPED_VERDICT } from './shaped-verdict.js';

// A key-check-shaped POST on Node's http module alone: the body read and parsed, the verdict written, no
// framework. What any server written for Node can reach for such a request on this machine.
const server = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/verify-shaped') {
    response.writeHead(404).end();
    return;
  }
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const { key } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const body = JSON.stringify(typeof key === 'string' ? SHAPED_VERDICT : { valid: false });
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-request-id': REQUEST_ID,
    });
    response.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('disconnect', () => process.exit());
