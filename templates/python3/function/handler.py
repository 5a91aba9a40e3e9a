def handle(req):
    """Handle a request.

    req is the request body: a str, or bytes when it is not valid UTF-8 or
    RAW_BODY=true. The returned value is the response.
    """
    return req
