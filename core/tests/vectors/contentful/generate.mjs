// Writes vectors.json: Contentful request signatures made by the official
// @contentful/node-apps-toolkit (signRequest), with the toolkit's own
// verifyRequest verdict for each vector, for each one-field mutation of it, at
// the 30 s TTL boundary, and for edge cases (missing headers, lenient parsing).
// The algorithm, with the toolkit's source lines, is in ALGORITHM.md beside this.
// Regenerate from the repository root:
//   npm ci && node core/tests/vectors/contentful/generate.mjs
import { signRequest, verifyRequest, ExpiredRequestException } from '@contentful/node-apps-toolkit'
import { createHmac } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import querystring from 'node:querystring'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const toolkit = JSON.parse(readFileSync(join(here, '../../../../node_modules/@contentful/node-apps-toolkit/package.json')))
// 64 characters of [0-9a-zA-Z+/=_-] (the toolkit itself only checks the length).
const SECRET = 'q2w3e4r5t6y7u8i9o0pAaSsDdFfGgHhJjKkLlZzXxCcVvBbNnMm1+2/3=4_5-6xy'
const TS = 1795523696000 // 2026-11-24T12:34:56Z, in milliseconds
const NOW = TS + 1000 // verifyRequest reads Date.now(); it is pinned to this for every verdict
const TTL = 30 // seconds, the toolkit's default

const publishBody = JSON.stringify({
  metadata: { tags: [], concepts: [] },
  fields: {
    title: { 'en-US': 'Hello world' },
    slug: { 'en-US': 'hello-world' },
    body: { 'en-US': 'First post.' },
  },
  sys: {
    type: 'Entry',
    id: '5KsDBWseXY6QegucYAoacS',
    space: { sys: { type: 'Link', linkType: 'Space', id: 'yadj1kx9rmg0' } },
    environment: { sys: { id: 'master', type: 'Link', linkType: 'Environment' } },
    contentType: { sys: { type: 'Link', linkType: 'ContentType', id: 'blogPost' } },
    createdBy: { sys: { type: 'Link', linkType: 'User', id: '4FLrUHftHW3v2BLi9fzfjU' } },
    updatedBy: { sys: { type: 'Link', linkType: 'User', id: '4FLrUHftHW3v2BLi9fzfjU' } },
    revision: 3,
    createdAt: '2026-11-20T09:00:00.000Z',
    updatedAt: '2026-11-24T12:34:55.123Z',
    publishedVersion: 5,
    publishedCounter: 3,
    version: 6,
    firstPublishedAt: '2026-11-20T09:05:00.000Z',
    publishedAt: '2026-11-24T12:34:55.123Z',
    automationTags: [],
  },
})
const mgmt = 'application/vnd.contentful.management.v1+json'

// `signed` is what signRequest is given: it signs every header in that map
// (it has no separate list of names). `unsigned` are added to the request as
// sent afterwards and are not listed in x-contentful-signed-headers.
const cases = [
  {
    name: 'publish',
    method: 'POST',
    path: '/webhooks/contentful',
    signed: { 'X-Contentful-Topic': 'ContentManagement.Entry.publish', 'Content-Type': mgmt },
    unsigned: { 'X-Contentful-Webhook-Name': 'invalidator' },
    body: publishBody,
  },
  {
    name: 'query-string',
    method: 'POST',
    path: '/webhooks/contentful?space=abc&env=master',
    signed: { 'X-Contentful-Topic': 'ContentManagement.Entry.unpublish' },
    body: '{"sys":{"type":"Entry","id":"e"}}',
  },
  {
    name: 'escaped-query',
    method: 'POST',
    path: '/hook?a=b c&d=é',
    signed: { 'X-Contentful-Topic': 'ContentManagement.Asset.publish' },
    body: '{}',
  },
  {
    name: 'utf8-body',
    method: 'POST',
    path: '/webhooks/contentful',
    signed: { 'Content-Type': mgmt },
    body: '{"title":"Café 日本 🎉"}',
  },
  {
    name: 'empty-body',
    method: 'POST',
    path: '/webhooks/contentful',
    signed: { 'X-Contentful-Topic': 'ContentManagement.Entry.delete' },
    body: '',
  },
  {
    name: 'mixed-case-and-spaces',
    method: 'POST',
    path: '/Webhooks/Contentful',
    signed: { 'X-Custom-HEADER': '  Value With Spaces  ', 'x-contentful-topic': 'ContentManagement.Entry.archive' },
    body: '{"a":1}',
  },
  { name: 'get-no-body', method: 'GET', path: '/status', signed: { Accept: 'application/json' } },
]

// The toolkit's canonical request, reproduced from its source (the function
// that builds it, `hash` in src/requests/sign-request.ts, is not exported);
// checked below against signRequest's signature for every case.
const canonicalPath = (p) => {
  const [pathname, search] = p.split('?')
  const escaped = search ? querystring.escape(search) : ''
  return encodeURI(escaped ? `${pathname}?${escaped}` : pathname)
}
const canonicalRequest = (method, path, signedHeaders, timestamp, body) => {
  const h = Object.fromEntries(Object.entries(signedHeaders).map(([k, v]) => [k.toLowerCase().trim(), v.trim()]))
  const names = Object.keys(h)
  if (!('x-contentful-signed-headers' in h)) names.push('x-contentful-signed-headers')
  if (!('x-contentful-timestamp' in h)) names.push('x-contentful-timestamp')
  h['x-contentful-timestamp'] = String(timestamp)
  h['x-contentful-signed-headers'] = names.sort().join(',')
  const headers = Object.entries(h)
    .sort(([a], [b]) => (a > b ? 1 : -1))
    .map(([k, v]) => `${k}:${v}`)
    .join(';')
  return [method, canonicalPath(path), headers, body ?? ''].join('\n')
}

// verifyRequest's verdict with Date.now() pinned: true, false, 'expired' or 'throws: ...'.
const verdict = (req, { now = NOW, ttl = TTL } = {}) => {
  const realNow = Date.now
  Date.now = () => now
  try {
    return verifyRequest(SECRET, req, ttl)
  } catch (e) {
    if (e instanceof ExpiredRequestException) return 'expired'
    return `throws: ${e.name}: ${e.message}`
  } finally {
    Date.now = realNow
  }
}

const flip = (s) => s.slice(0, -1) + (s.endsWith('0') ? '1' : '0')
const out = []
for (const c of cases) {
  const signed = signRequest(SECRET, { method: c.method, path: c.path, headers: c.signed, body: c.body }, TS)
  const canonical = canonicalRequest(c.method, c.path, c.signed, TS, c.body)
  const mac = createHmac('sha256', SECRET).update(canonical, 'utf8').digest('hex')
  if (mac !== signed['x-contentful-signature']) throw new Error(`${c.name}: reproduced canonical request is not what the toolkit signed`)
  if (canonical.split('\n')[2].indexOf(`x-contentful-signed-headers:${signed['x-contentful-signed-headers']}`) < 0) {
    throw new Error(`${c.name}: signed-headers list differs`)
  }
  const headers = { ...c.signed, ...(c.unsigned ?? {}), ...signed }
  const request = { method: c.method, path: c.path, headers, body: c.body }
  if (verdict(request) !== true) throw new Error(`${c.name}: the toolkit rejects its own signature`)
  const firstSigned = Object.keys(c.signed)[0]
  const mutations = [
    { field: 'method', value: c.method === 'POST' ? 'PUT' : 'POST' },
    { field: 'path', value: c.path + 'x' },
    { field: 'header', name: firstSigned, value: headers[firstSigned] + 'x' },
    { field: 'body', value: (c.body ?? '') + ' ' },
    { field: 'timestamp', value: String(TS + 1) },
    { field: 'signature', value: flip(signed['x-contentful-signature']) },
  ]
  // Changes that must not matter: an unsigned header, whitespace around a signed value.
  for (const name of Object.keys(c.unsigned ?? {})) mutations.push({ field: 'header', name, value: 'something else' })
  for (const [name, value] of Object.entries(c.signed)) {
    if (value !== value.trim()) mutations.push({ field: 'header', name, value: value.trim() })
  }
  const judged = mutations.map((m) => {
    const r = { ...request, headers: { ...headers } }
    if (m.field === 'method') r.method = m.value
    if (m.field === 'path') r.path = m.value
    if (m.field === 'body') r.body = m.value
    if (m.field === 'header') r.headers[m.name] = m.value
    if (m.field === 'timestamp') r.headers['x-contentful-timestamp'] = m.value
    if (m.field === 'signature') r.headers['x-contentful-signature'] = m.value
    const v = verdict(r)
    if (typeof v !== 'boolean') throw new Error(`${c.name}: mutation ${JSON.stringify(m)} -> ${v}`)
    return { ...m, valid: v }
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
    canonical_request: canonical,
    mutations: judged,
  })
}

// The TTL boundary: the first vector verified exactly 29 999 and 30 000 ms after it was signed.
const first = out[0]
const firstReq = { method: first.method, path: first.path, headers: first.headers, body: first.body }
const at29999 = verdict(firstReq, { now: TS + 29999 })
const at30000 = verdict(firstReq, { now: TS + 30000 })

// Edge cases, each a whole request with the toolkit's verdict. Not one-field
// changes of a signature: they show how the toolkit parses what it is given.
const edge = []
const withHeaders = (base, change) => {
  const h = { ...base.headers }
  for (const [k, v] of Object.entries(change)) {
    if (v === undefined) delete h[k]
    else h[k] = v
  }
  return { method: base.method, path: base.path, headers: h, body: base.body }
}
const addEdge = (name, note, request, opts = {}) => {
  const now = opts.now ?? NOW
  const ttl = opts.ttl ?? TTL
  edge.push({ name, note, request: { ...request, body: request.body ?? '' }, now_ms: now, ttl_seconds: ttl, toolkit: verdict(request, { now, ttl }) })
}
const sig = first.signature
addEdge('no-signature-header', 'verifyRequest throws (runtypes ValidationError), it does not return false', withHeaders(firstReq, { 'x-contentful-signature': undefined }))
addEdge('no-timestamp-header', 'parseInt("") is NaN: throws', withHeaders(firstReq, { 'x-contentful-timestamp': undefined }))
addEdge('no-signed-headers-header', '"".split(",") has 1 entry, fewer than 2: throws', withHeaders(firstReq, { 'x-contentful-signed-headers': undefined }))
addEdge('signature-63-chars', 'SignatureLength check: throws', withHeaders(firstReq, { 'x-contentful-signature': sig.slice(1) }))
addEdge('signature-uppercase-hex', 'compared as UTF-8 strings: false', withHeaders(firstReq, { 'x-contentful-signature': sig.toUpperCase() }))
addEdge('signature-padded', 'header values are trimmed before use, the signature too', withHeaders(firstReq, { 'x-contentful-signature': ` ${sig} ` }))
addEdge('listed-header-missing', 'a listed header absent from the request is dropped, so the recomputed list differs: false', withHeaders(firstReq, { 'X-Contentful-Topic': undefined }))
addEdge('signed-headers-unsorted', 'the list is recomputed (sorted) from the headers present, so its order does not matter', withHeaders(firstReq, {
  'x-contentful-signed-headers': first.signed_headers.split(',').reverse().join(','),
}))
addEdge('signed-headers-without-the-two-mandatory', 'x-contentful-signed-headers and x-contentful-timestamp are added back when absent from the list: true', withHeaders(firstReq, {
  'x-contentful-signed-headers': first.signed_headers.split(',').filter((n) => !n.startsWith('x-contentful-s') && n !== 'x-contentful-timestamp').join(','),
}))
addEdge('signed-headers-entry-uppercase', 'list entries are not lowercased or trimmed: "Content-Type" matches no (lowercased) header: false', withHeaders(firstReq, {
  'x-contentful-signed-headers': first.signed_headers.replace('content-type', 'Content-Type'),
}))
addEdge('signed-headers-entry-padded', 'list entries are not trimmed: false', withHeaders(firstReq, {
  'x-contentful-signed-headers': first.signed_headers.replace(',x-contentful-topic', ', x-contentful-topic'),
}))
addEdge('timestamp-trailing-junk', 'Number.parseInt stops at the first non-digit and the MAC uses the parsed number: true', withHeaders(firstReq, { 'x-contentful-timestamp': `${TS}abc` }))
addEdge('timestamp-decimal', 'parseInt("…000.9") is …000: true', withHeaders(firstReq, { 'x-contentful-timestamp': `${TS}.9` }))
addEdge('timestamp-leading-zero', 'parsed then re-printed: true', withHeaders(firstReq, { 'x-contentful-timestamp': `0${TS}` }))
addEdge('timestamp-padded', 'trimmed: true', withHeaders(firstReq, { 'x-contentful-timestamp': ` ${TS} ` }))
addEdge('timestamp-seconds', 'a timestamp in seconds is before 2020-01-01 in ms: throws (TimestampAge)', withHeaders(firstReq, { 'x-contentful-timestamp': String(TS / 1000) }))
{
  const future = TS + 3600 * 1000
  const s = signRequest(SECRET, { method: 'POST', path: first.path, headers: cases[0].signed, body: first.body }, future)
  addEdge('timestamp-one-hour-in-the-future', 'now - ts is negative, never >= ttl: there is no bound on future timestamps', { ...firstReq, headers: { ...cases[0].signed, ...s } })
}
addEdge('ttl-zero-disables-expiry', 'ttl 0 turns the age check off: verified a day later', firstReq, { now: TS + 86400000, ttl: 0 })
addEdge('expired-and-bad-signature', 'the age is checked before the signature: expired, not false', withHeaders(firstReq, { 'x-contentful-signature': flip(sig) }), { now: TS + 30000 })
{
  const path = '/webhooks/contentful?a=1?b=2'
  const s = signRequest(SECRET, { method: 'POST', path, headers: cases[0].signed, body: first.body }, TS)
  addEdge('second-question-mark-not-signed', 'signed for ?a=1?b=2, verified as ?a=1?c=3: split("?") keeps two parts, the rest is not signed: true', {
    method: 'POST', path: '/webhooks/contentful?a=1?c=3', headers: { ...cases[0].signed, ...s }, body: first.body,
  })
}
{
  const s = signRequest(SECRET, { method: 'POST', path: '/webhooks/contentful', headers: cases[0].signed, body: first.body }, TS)
  addEdge('empty-query-same-as-none', 'signed for /webhooks/contentful, verified as /webhooks/contentful? : true', {
    method: 'POST', path: '/webhooks/contentful?', headers: { ...cases[0].signed, ...s }, body: first.body,
  })
}
addEdge('lowercase-method', 'method must be one of GET PATCH HEAD POST DELETE OPTIONS PUT: throws', { ...firstReq, method: 'post' })
addEdge('path-without-slash', 'path must start with "/": throws', { ...firstReq, path: 'webhooks/contentful' })
addEdge('duplicate-header-differing-case', 'headers are an object; after lowercasing the later entry wins (here the tampered one): false', {
  ...firstReq, headers: { ...firstReq.headers, 'x-contentful-topic': 'ContentManagement.Entry.delete' },
})

// The toolkit's secret check is the length only, in UTF-16 code units.
const secretCheck = (secret) => {
  try {
    signRequest(secret, { method: 'GET', path: '/' }, TS)
    return 'accepted'
  } catch (e) {
    return `throws: ${e.name}: ${e.message}`
  }
}
const secrets = {
  '64 of [0-9a-zA-Z+/=_-]': secretCheck(SECRET),
  '63 characters': secretCheck(SECRET.slice(1)),
  '65 characters': secretCheck(SECRET + 'a'),
  '64 characters with "!" and a space': secretCheck('! ' + SECRET.slice(2)),
  '64 characters with "é" (65 UTF-8 bytes)': secretCheck('é' + SECRET.slice(1)),
}

writeFileSync(
  join(here, 'vectors.json'),
  JSON.stringify(
    {
      generator: `@contentful/node-apps-toolkit ${toolkit.version} signRequest/verifyRequest`,
      secret: SECRET,
      verify: { now_ms: NOW, ttl_seconds: TTL, note: 'every verdict below is verifyRequest(secret, request, ttl) with Date.now() pinned to now_ms' },
      ttl_boundary: {
        case: first.name,
        ttl_seconds: TTL,
        timestamp_ms: TS,
        at_29999_ms: at29999,
        at_30000_ms: at30000,
      },
      secret_check: secrets,
      cases: out,
      edge_cases: edge,
    },
    null,
    2,
  ) + '\n',
)
console.log(`wrote ${out.length} cases and ${edge.length} edge cases; TTL 30 s: 29.999 s old -> ${at29999}, 30 s old -> ${at30000}`)
for (const e of edge) console.log(`  ${e.name}: ${e.toolkit}`)
for (const [k, v] of Object.entries(secrets)) console.log(`  secret ${k}: ${v}`)
