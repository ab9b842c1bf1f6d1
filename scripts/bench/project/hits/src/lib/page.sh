# Longest page name kept; longer ones are cut, so a client cannot grow a
# key without bound.
MAX_PAGE_LEN=64

# page: the page= parameter of $QUERY_STRING, letters, digits, - and _ only.
page() {
  printf '%s' "${QUERY_STRING:-}" | tr '&' '\n' | sed -n 's/^page=//p' | head -n 1 |
    tr -cd 'A-Za-z0-9_-' | cut -c1-"$MAX_PAGE_LEN"
}

# reply STATUS BODY: a CGI response in plain text.
reply() {
  printf 'Status: %s\r\nContent-Type: text/plain\r\n\r\n%s\n' "$1" "$2"
}
