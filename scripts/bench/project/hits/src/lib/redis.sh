# redis CMD ARG...: one command to Redis at $REDIS_HOST:${REDIS_PORT:-6379}
# in the inline protocol, then QUIT so that the server closes the
# connection; prints the reply's value (nothing for a missing key).
redis() {
  printf '%s\r\nQUIT\r\n' "$*" | nc "${REDIS_HOST:-cache}" "${REDIS_PORT:-6379}" | tr -d '\r' | {
    read -r first || return 0
    case "$first" in
      '$-1') ;;
      '$'*) read -r value; printf '%s\n' "$value" ;;
      *) printf '%s\n' "${first#?}" ;;
    esac
  }
}
