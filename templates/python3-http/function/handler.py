def handle(event, context):
    """Handle an HTTP request.

    event has body (bytes), headers, method, query and path; context has
    hostname. Return a dict with statusCode, body and headers.
    """
    return {
        "statusCode": 200,
        "body": "Hello from python3-http",
    }
