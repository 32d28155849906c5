// Writes vectors.json: Contentful request signatures made by the official
// @contentful/node-apps-toolkit (signRequest), with the toolkit's own
// verifyRequest verdict for each vector and for each one-field mutation of it.
// Regenerate from the repository root: npm ci && node core/tests/vectors/contentful/generate.mjs
import { signRequest, verifyRequest, ExpiredRequestException } from '@contentful/node-apps-toolkit'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const toolkit = JSON.parse(readFileSync(join(here, '../../../../node_modules/@contentful/node-apps-toolkit/package.json')))
const SECRET = 'q2w3e4r5t6y7u8i9o0pAaSsDdFfGgHhJjKkLlZzXxCcVvBbNnMm1+2/3=4_5-6xy'
const TS = 1795523696000 // 2026-11-24T12:34:56Z

const publishBody = JSON.stringify({
  metadata: { tags: [] },
  sys: { type: 'Entry', id: 'child1', revision: 4, space: { sys: { id: 'space1' } }, environment: { sys: { id: 'master' } }, contentType: { sys: { id: 'card' } } },
  fields: { slug: { 'en-US': 'hello' } },
})
const mgmt = 'application/vnd.contentful.management.v1+json'
const cases = [
  { name: 'publish', method: 'POST', path: '/webhooks/contentful', headers: { 'Content-Type': mgmt, 'X-Contentful-Topic': 'ContentManagement.Entry.publish' }, body: publishBody },
  { name: 'query-string', method: 'POST', path: '/webhooks/contentful?space=abc&env=master', headers: { 'X-Contentful-Topic': 'ContentManagement.Entry.unpublish' }, body: '{"sys":{"type":"Entry","id":"e"}}' },
  { name: 'escaped-query', method: 'POST', path: '/hook?a=b c&d=é', headers: { 'X-Contentful-Topic': 'ContentManagement.Asset.publish' }, body: '{}' },
  { name: 'utf8-body', method: 'POST', path: '/webhooks/contentful', headers: { 'Content-Type': mgmt }, body: '{"title":"Café 日本 🎉"}' },
  { name: 'empty-body', method: 'POST', path: '/webhooks/contentful', headers: { 'X-Contentful-Topic': 'ContentManagement.Entry.delete' }, body: '' },
  { name: 'mixed-case-and-spaces', method: 'POST', path: '/Webhooks/Contentful', headers: { 'X-Custom-HEADER': '  Value With Spaces  ', 'x-contentful-topic': 'ContentManagement.Entry.archive' }, body: '{"a":1}' },
  { name: 'get-no-body', method: 'GET', path: '/status', headers: { Accept: 'application/json' } },
]

const verdict = (req, ttl = 0) => {
  try {
    return verifyRequest(SECRET, req, ttl)
  } catch (e) {
    if (e instanceof ExpiredRequestException) return 'expired'
    return `error: ${e.message ?? e}`
  }
}

const out = []
for (const c of cases) {
  const signed = signRequest(SECRET, { method: c.method, path: c.path, headers: c.headers, body: c.body }, TS)
  const headers = { ...c.headers, ...signed }
  const request = { method: c.method, path: c.path, headers, body: c.body }
  if (verdict(request) !== true) throw new Error(`${c.name}: the toolkit rejects its own signature`)
  const firstSigned = Object.keys(c.headers)[0]
  const flip = (s) => s.slice(0, -1) + (s.endsWith('0') ? '1' : '0')
  const mutations = [
    { field: 'method', value: c.method === 'POST' ? 'PUT' : 'POST' },
    { field: 'path', value: c.path + 'x' },
    { field: 'header', name: firstSigned, value: headers[firstSigned] + 'x' },
    { field: 'body', value: (c.body ?? '') + ' ' },
    { field: 'timestamp', value: String(TS + 1) },
    { field: 'signature', value: flip(signed['x-contentful-signature']) },
  ].map((m) => {
    const r = { ...request, headers: { ...headers } }
    if (m.field === 'method') r.method = m.value
    if (m.field === 'path') r.path = m.value
    if (m.field === 'body') r.body = m.value
    if (m.field === 'header') r.headers[m.name] = m.value
    if (m.field === 'timestamp') r.headers['x-contentful-timestamp'] = m.value
    if (m.field === 'signature') r.headers['x-contentful-signature'] = m.value
    return { ...m, valid: verdict(r) === true }
  })
  out.push({
    name: c.name,
    method: c.method,
    path: c.path,
    headers,
    body: c.body ?? '',
    timestamp_ms: TS,
    signed_headers: signed['x-contentful-signed-headers'],
    signature: signed['x-contentful-signature'],
    mutations,
  })
}

// The TTL boundary, with the toolkit's clock pinned: exactly 30 s old is expired.
const first = out[0]
const req = { method: first.method, path: first.path, headers: first.headers, body: first.body }
const realNow = Date.now
Date.now = () => TS + 29999
const at29999 = verdict(req, 30)
Date.now = () => TS + 30000
const at30000 = verdict(req, 30)
Date.now = realNow

writeFileSync(
  join(here, 'vectors.json'),
  JSON.stringify({ generator: `@contentful/node-apps-toolkit ${toolkit.version} signRequest/verifyRequest`, secret: SECRET, ttl_boundary: { case: first.name, ttl_seconds: 30, at_29999_ms: at29999, at_30000_ms: at30000 }, cases: out }, null, 2) + '\n',
)
console.log(`wrote ${out.length} cases; TTL 30 s: 29.999 s old -> ${at29999}, 30 s old -> ${at30000}`)
