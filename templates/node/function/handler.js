'use strict'

// event: body, headers, method, query, path
// context: status(code), headers(obj), succeed(value), fail(err)
module.exports = async (event, context) => {
  return context
    .status(200)
    .succeed({ message: 'Hello from node', body: event.body })
}
