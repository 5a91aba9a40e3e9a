#!/usr/bin/env bash
# The request body is on stdin; what this prints is the response.
set -euo pipefail
body=$(cat)
echo "Hello from bash, you said: ${body}"
