// GET /docs through the test stack's lighttpd, opened in headless Chromium: the DOM after Swagger
// UI has run (not the HTML lighttpd serves, which has no operation in it) shows every operation of
// deploy/api/openapi.json, paths and webhooks alike. The page comes with a Content-Security-Policy
// allowing nothing from another host, and Chromium runs with every host but the stack's
// unresolvable, so a page that needed a CDN (or anything outside) renders nothing; a CSP violation
// in Chromium's console fails the test too.
// Usage: BASE_URL=http://127.0.0.1:PORT node docs_page_test.mjs deploy/api/openapi.json
import { spawnSync } from 'node:child_process'
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
const page = await served.text()
if (page.includes('opblock')) fail('the served page already holds operations')
if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(page)) fail('the served page has an inline script, which its CSP refuses')

// The policy (lighttpd.conf's /docs block): scripts from the page's origin only, and no other host
// anywhere, only keywords such as 'self' and 'none' and data: for swagger-ui's icons.
const policy = served.headers.get('content-security-policy') ?? fail('GET /docs has no Content-Security-Policy')
const directives = new Map(policy.split(';').map((d) => d.trim().split(/\s+/)).filter(([name]) => name)
  .map(([name, ...sources]) => [name.toLowerCase(), sources]))
if (directives.get('default-src')?.join(' ') !== "'none'") fail(`CSP default-src is not 'none': ${policy}`)
if (directives.get('script-src')?.join(' ') !== "'self'") fail(`CSP script-src is not 'self' alone: ${policy}`)
for (const [name, sources] of directives) {
  const elsewhere = sources.filter((s) => !/^'[a-z-]+'$/.test(s) && s !== 'data:')
  if (elsewhere.length > 0) fail(`CSP ${name} allows ${elsewhere.join(' ')}: ${policy}`)
}
if (served.headers.get('x-content-type-options') !== 'nosniff') fail('GET /docs has no X-Content-Type-Options: nosniff')

// Headless Chromium on `url`: the DOM once the page's scripts are done (virtual time), and the
// console lines it logged. Every host but the stack's resolves to nothing (no CDN, no network);
// a profile of its own per run; Chromium runs as root here, which needs --no-sandbox.
const stackHost = new URL(baseUrl).hostname
function chromium (url) {
  const profile = mkdtempSync(join(tmpdir(), 'dnsh-docs-chromium-'))
  let run
  try {
    // Two runs within the test's 120 s: 45 s each at most.
    run = spawnSync('/usr/bin/chromium', [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions',
      `--user-data-dir=${profile}`, `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${stackHost}`,
      '--enable-logging=stderr', '--log-level=0', '--virtual-time-budget=20000', '--dump-dom', url
    ], { encoding: 'utf8', timeout: 45000, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] })
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
  if (run.error || run.status !== 0) fail(`chromium on ${url.slice(0, 80)}: ${run.error ?? `exit ${run.status}`}`)
  // The console reaches the log as `...:INFO:CONSOLE:<line>] "<message>", source: <url> (<line>)`.
  return { dom: run.stdout, console: run.stderr.split('\n').filter((line) => line.includes(':CONSOLE')) }
}
const refusal = /Content Security Policy|Refused to/

// First a page whose policy refuses its inline script: the console shows it, else the check
// below could find nothing.
const planted = chromium('data:text/html,' + encodeURIComponent(
  '<meta http-equiv="Content-Security-Policy" content="script-src \'self\'"><script>1</script>'))
if (!planted.console.some((line) => refusal.test(line))) {
  fail(`Chromium's console did not show a planted CSP violation (console: ${planted.console.join(' | ') || 'nothing'})`)
}

const { dom, console: pageConsole } = chromium(`${baseUrl}/docs`)
const refused = pageConsole.filter((line) => refusal.test(line))
if (refused.length > 0) fail(`the page broke its CSP or a content type: ${refused.join(' | ')}`)

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
