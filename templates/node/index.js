'use strict'
// fjord node template: an HTTP server (Node.js standard library only) that
// the watchdog forwards requests to. Runs on the host's Node.js.

const http = require('http')
const path = require('path')

const handler = require(path.join(__dirname, 'function', 'handler.js'))

const rawBody = (process.env.RAW_BODY || '').toLowerCase() === 'true'
const maxRaw = parseSize(process.env.MAX_RAW_SIZE, 100 * 1024)
const maxJSON = parseSize(process.env.MAX_JSON_SIZE, 100 * 1024)
const methods = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

function parseSize (v, def) {
  if (!v) return def
  const m = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(v.trim())
  if (!m) return def
  const mult = { b: 1, kb: 1024, mb: 1024 * 1024, gb: 1024 * 1024 * 1024 }
  return Number(m[1]) * mult[(m[2] || 'b').toLowerCase()]
}

class Context {
  constructor () {
    this.statusCode = 200
    this.headerValues = {}
    this.value = undefined
    this.error = undefined
  }

  status (code) {
    if (code === undefined) return this.statusCode
    this.statusCode = code
    return this
  }

  headers (obj) {
    if (obj === undefined) return this.headerValues
    this.headerValues = obj
    return this
  }

  succeed (value) {
    this.value = value
    this.error = undefined
    return this
  }

  fail (err) {
    this.error = err === undefined ? new Error('failed') : err
    return this
  }
}

function readBody (req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (c) => {
      size += c.length
      if (size > limit) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function decodeBody (buf, contentType) {
  if (rawBody) return buf
  if (/json/i.test(contentType || '') && buf.length > 0) {
    try { return JSON.parse(buf.toString('utf8')) } catch (_) { return buf.toString('utf8') }
  }
  return buf.toString('utf8')
}

function send (res, ctx, value) {
  const headers = Object.assign({}, ctx.headerValues)
  let body = value
  if (body === undefined || body === null) {
    body = ''
  } else if (Buffer.isBuffer(body)) {
    // sent as is
  } else if (typeof body === 'object') {
    body = JSON.stringify(body)
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json'
    }
  } else {
    body = String(body)
  }
  res.writeHead(ctx.statusCode, headers)
  res.end(body)
}

function sendError (res, ctx, err) {
  console.error(err)
  const status = ctx.statusCode === 200 ? 500 : ctx.statusCode
  res.writeHead(status, Object.assign({ 'Content-Type': 'text/plain' }, ctx.headerValues))
  res.end(String(err && err.message ? err.message : err))
}

async function serve (req, res) {
  const ctx = new Context()
  if (!methods.has(req.method)) {
    res.writeHead(405)
    res.end()
    return
  }
  try {
    const isJSON = /json/i.test(req.headers['content-type'] || '')
    const buf = await readBody(req, isJSON && !rawBody ? maxJSON : maxRaw)
    const url = new URL(req.url, 'http://localhost')
    const event = {
      body: decodeBody(buf, req.headers['content-type']),
      headers: req.headers,
      method: req.method,
      query: Object.fromEntries(url.searchParams),
      path: url.pathname
    }
    const returned = await handler(event, ctx)
    if (ctx.error !== undefined) return sendError(res, ctx, ctx.error)
    const value = returned instanceof Context ? ctx.value : (returned !== undefined ? returned : ctx.value)
    send(res, ctx, value)
  } catch (err) {
    if (err && err.status) ctx.status(err.status)
    sendError(res, ctx, err)
  }
}

// Before libuv 1.48 (Node 22) an abstract socket's name is bound padded with
// NUL bytes to the whole sun_path, a different name from the one the watchdog
// connects to.
function padsAbstractNames () {
  const [major, minor] = process.versions.uv.split('.').map(Number)
  return major === 1 && minor < 48
}

const server = http.createServer((req, res) => { serve(req, res) })
const socket = process.env.FJORD_SOCKET || ''
const socketFD = process.env.FJORD_SOCKET_FD || ''
if (socketFD) {
  // fjord's watchdog hands over a listening socket as this file descriptor.
  server.listen({ fd: Number(socketFD) })
} else if (socket) {
  // fjord's watchdog passes a Unix socket instead of a port; "@name" is an
  // abstract one, which Node names with a leading NUL byte (Linux).
  if (socket.startsWith('@') && padsAbstractNames()) {
    console.error(`node ${process.version} (libuv ${process.versions.uv}) cannot listen on abstract socket ${socket}: needs libuv 1.48 or later`)
    process.exit(1)
  }
  server.listen(socket.startsWith('@') ? '\0' + socket.slice(1) : socket)
} else {
  // Loopback only: the watchdog (or fjord's router) is the one caller.
  server.listen(Number(process.env.PORT || 3000), '127.0.0.1')
}
process.on('SIGTERM', () => server.close(() => process.exit(0)))
