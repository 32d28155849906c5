// Runs native-lambda/state-machine.asl.json offline with aws-local-stepfunctions.
// Each Task state invokes the real workflow function through a Lambda Runtime
// API (POST <invoke-url>). Reads the execution input (JSON) on stdin; prints
// one JSON line per state entered/exited/failed (with the UTF-8 size of the
// state it received and the state it passed on, as Step Functions counts them
// against its 256 KiB limit) and one for the end; exits 0 when the execution
// succeeds, 1 when it fails.
//   node --require tests/js/polyfill.cjs tests/js/run-state-machine.mjs <asl> <invoke-url> [wait-ms]
import { StateMachine } from 'aws-local-stepfunctions'
import { readFileSync } from 'node:fs'

const [aslPath, invokeUrl, waitMs] = process.argv.slice(2)
let input = ''
for await (const chunk of process.stdin) input += chunk
const definition = JSON.parse(
  readFileSync(aslPath, 'utf8').replaceAll('${WorkflowFunctionArn}', 'arn:aws:lambda:us-east-1:123456789012:function:invalidator-workflow'),
)
const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task').map(([name]) => name)

async function invoke(payload) {
  const res = await fetch(invokeUrl, { method: 'POST', body: JSON.stringify(payload) })
  const text = await res.text()
  if (res.ok) return JSON.parse(text)
  let doc = {}
  try {
    doc = JSON.parse(text)
  } catch {}
  const err = new Error(doc.errorMessage ?? text)
  err.name = doc.errorType ?? 'Lambda.Unknown'
  throw err
}

const overrides = { taskResourceLocalHandlers: Object.fromEntries(tasks.map((t) => [t, invoke])) }
if (waitMs !== undefined) overrides.waitTimeOverrides = { 'Wait-For-1-Min': Number(waitMs) }
const machine = new StateMachine(definition, { validationOptions: { checkArn: false } })
const execution = machine.run(JSON.parse(input), { overrides })
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const bytes = (value) => (value === undefined ? undefined : Buffer.byteLength(JSON.stringify(value), 'utf8'))

const logging = (async () => {
  for await (const event of execution.eventLogs) {
    if (event.state) {
      const out = event.type === 'StateExited' ? event.state.output : undefined
      print({ event: event.type, state: event.state.name, route: out?.route, wait_seconds: out?.wait_seconds, phase: out?.phase, error: event.Error, cause: event.Cause,
        input_bytes: bytes(event.state.input), output_bytes: bytes(out) })
    }
  }
})()
let end
try {
  const result = await execution.result
  // The workflow it ended with: what tests read receipts from.
  end = { event: 'ExecutionSucceeded', route: result?.route, workflow: result?.workflow }
} catch (e) {
  end = { event: 'ExecutionFailed', error: e.name, cause: e.cause ?? e.message }
  process.exitCode = 1
}
await logging
print(end)
