#!/bin/sh
# make run: serves content/ with server/gazette.conf and, where Debian's
# fcgiwrap is installed, the guestbook example (server/examples/guestbook.sh)
# at /guestbook/ through it, on a socket in state/. Arguments: the gazette
# binary, then its options.
set -e
gazette=$1
shift
conf=server/gazette.conf
fcgiwrap=$(command -v fcgiwrap || ls /usr/sbin/fcgiwrap 2>/dev/null || true)
if [ -n "$fcgiwrap" ]; then
	mkdir -p state
	sock=$PWD/state/fcgiwrap.sock
	rm -f "$sock"
	"$fcgiwrap" -s "unix:$sock" &
	pid=$!
	trap 'kill $pid 2>/dev/null; rm -f "$sock"' EXIT
	trap 'exit 130' INT TERM
	# The example joins the last host section, localhost's.
	{ cat "$conf"; printf '\nfastcgi = /guestbook/ unix:%s %s\n' "$sock" \
	    "$PWD/server/examples/guestbook.sh"; } > state/run.conf
	conf=state/run.conf
	echo "make run: the guestbook example answers at /guestbook/ (fcgiwrap $pid)"
else
	echo "make run: no fcgiwrap, so no guestbook example (apt install fcgiwrap)"
fi
"$gazette" -f -c "$conf" "$@"
