// Signs webhook requests with the official @contentful/node-apps-toolkit, as
// Contentful does. Reads a JSON array of {secret, method, path, headers, body}
// on stdin; writes a JSON array of the headers to add (x-contentful-*).
// Optional "timestamp" (ms) per request; default: now.
import { signRequest } from '@contentful/node-apps-toolkit'

let input = ''
for await (const chunk of process.stdin) input += chunk
const requests = JSON.parse(input)
const out = requests.map((r) =>
  signRequest(r.secret, { method: r.method, path: r.path, headers: r.headers, body: r.body }, r.timestamp ?? Date.now()),
)
process.stdout.write(JSON.stringify(out))
