#!/bin/bash
# The README's guestbook, run by `make run` through fcgiwrap at /guestbook/:
# asks for a name, then thanks the visitor; over Gopher the selector's words
# are the name.
name=$(printf '%b' "$(printf '%s' "$QUERY_STRING" | sed 's/+/ /g; s/%/\\x/g')")
if [ "$SERVER_PROTOCOL" = GOPHER ]; then
    printf 'Thank you, %s.\r\n' "${name:-visitor}"
elif [ -z "$QUERY_STRING" ]; then
    printf '10 Your name\r\n'
else
    printf '20 text/gemini\r\n# Thank you\n\nSigned: %s\n' "$name"
fi
