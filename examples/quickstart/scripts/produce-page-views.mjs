#!/usr/bin/env node
// Publishes a few page views to the `page-views` stream through the data plane, for the `page_views`
// streaming resolver. Usage (while `npm start` runs):
//   SLATE_TOKEN=$(npx slate token) node scripts/produce-page-views.mjs [data plane URL]
const dataPlane = process.argv[2] ?? process.env.SLATE_DATA_PLANE ?? 'http://127.0.0.1:4001';
const token = process.env.SLATE_TOKEN;
if (!token) {
  console.error('set SLATE_TOKEN, e.g. SLATE_TOKEN=$(npx slate token) node scripts/produce-page-views.mjs');
  process.exit(2);
}

const pageViews = [
  { user_id: 1, page: '/pricing' },
  { user_id: 3, page: '/checkout' },
  { page: '/' }, // no user: the resolver skips it
  'not json', // parse throws: the message goes to page-views.dead-letter
  { user_id: 1, page: '/docs' }, // user 1's latest view
];

const response = await fetch(`${dataPlane}/v1/streams/page-views/messages`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({
    messages: pageViews.map((view) => ({
      key: typeof view === 'string' ? 'bad' : String(view.user_id ?? 'anonymous'),
      value: typeof view === 'string' ? view : JSON.stringify(view),
    })),
  }),
}).catch((error) => {
  console.error(
    `cannot reach the data plane at ${dataPlane} (${error.cause?.code ?? error.message}): is \`npm start\` running?`,
  );
  process.exit(1);
});
const body = await response.json();
if (!response.ok) {
  console.error(`publish failed (${response.status}):`, body);
  process.exit(1);
}
console.log(`published ${body.offsets.length} messages to ${body.topic}`);
