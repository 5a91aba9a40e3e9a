# fjord python3 template: classic watchdog entry point.
# Reads the whole request from stdin, calls function.handler.handle(req) and
# writes the result to stdout. Runs on the host's Python 3.
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
# Packages installed at build time from function/requirements.txt.
sys.path.insert(0, os.path.join(_here, "python"))
sys.path.insert(0, _here)

from function import handler  # noqa: E402


def read_request():
    data = sys.stdin.buffer.read()
    if os.getenv("RAW_BODY", "").lower() == "true":
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def main():
    result = handler.handle(read_request())
    if result is None:
        return
    if isinstance(result, (bytes, bytearray)):
        sys.stdout.buffer.write(result)
    else:
        sys.stdout.write(str(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
