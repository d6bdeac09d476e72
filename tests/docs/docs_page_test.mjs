// GET /docs through the test stack's lighttpd, opened in headless Chromium: the DOM after Swagger
// UI has run (not the HTML lighttpd serves, which has no operation in it) shows every operation of
// deploy/api/openapi.json, paths and webhooks alike.
// Usage: BASE_URL=http://127.0.0.1:PORT node docs_page_test.mjs deploy/api/openapi.json
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

function fail (message) {
  console.error(`FAIL: ${message}`)
  process.exit(1)
}

const baseUrl = process.env.BASE_URL || fail('BASE_URL is not set (deploy/test exports it)')
const document = JSON.parse(readFileSync(process.argv[2], 'utf8'))

const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
const expected = []
for (const [section, items] of [['paths', document.paths], ['webhooks', document.webhooks ?? {}]]) {
  for (const [path, item] of Object.entries(items)) {
    for (const method of httpMethods.filter((m) => item[m])) expected.push({ section, method, path })
  }
}
if (expected.length < 10) fail(`only ${expected.length} operations in the document`)

// The page renders what lighttpd serves at /openapi.json: this checkout's document, as JSON.
const servedDocument = await fetch(`${baseUrl}/openapi.json`)
if (servedDocument.status !== 200) fail(`GET /openapi.json answered ${servedDocument.status}`)
if (servedDocument.headers.get('content-type') !== 'application/json') fail('/openapi.json is not application/json')
if (await servedDocument.text() !== readFileSync(process.argv[2], 'utf8')) fail('/openapi.json is not deploy/api/openapi.json')

const served = await fetch(`${baseUrl}/docs`)
if (served.status !== 200) fail(`GET /docs answered ${served.status}`)
if (!served.headers.get('content-type')?.startsWith('text/html')) fail('GET /docs is not text/html')
if ((await served.text()).includes('opblock')) fail('the served page already holds operations')

// A profile of its own per run; Chromium runs as root here, which needs --no-sandbox.
const profile = mkdtempSync(join(tmpdir(), 'dnsh-docs-chromium-'))
let dom
try {
  dom = execFileSync('/usr/bin/chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions',
    `--user-data-dir=${profile}`, '--virtual-time-budget=20000', '--dump-dom', `${baseUrl}/docs`
  ], { encoding: 'utf8', timeout: 90000, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] })
} finally {
  rmSync(profile, { recursive: true, force: true })
}

// Swagger UI renders each operation as <div class="opblock opblock-<method> ..."> holding
// <span class="opblock-summary-path" data-path="<path>"> (a webhook: its name).
const rendered = new Set()
for (const block of dom.split('<div class="opblock opblock-').slice(1)) {
  const method = block.match(/^([a-z]+)/)?.[1]
  const path = block.match(/class="opblock-summary-path"[^>]*data-path="([^"]*)"/)?.[1] ??
               block.match(/data-path="([^"]*)"[^>]*class="opblock-summary-path"/)?.[1]
  if (method && path) rendered.add(`${method} ${path.replaceAll('&amp;', '&')}`)
}
const missing = expected.filter(({ method, path }) => !rendered.has(`${method} ${path}`))
if (missing.length > 0) {
  fail(`not rendered: ${missing.map((o) => `${o.method.toUpperCase()} ${o.path} (${o.section})`).join(', ')}` +
       ` (rendered: ${[...rendered].join(', ') || 'nothing'})`)
}
console.log(`ok: all ${expected.length} operations of the document rendered by /docs`)
