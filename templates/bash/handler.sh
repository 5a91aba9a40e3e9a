# fjord bash template: the classic watchdog runs this once per request.
exec bash "$(dirname "$0")/function/handler.sh"
