#!/usr/bin/env bash
# make bench: gazette under load on loopback, and molly-brown beside it when
# installed. Prints the environment, one markdown table (medians of interleaved
# rounds), the targets of issue 5 met or missed, and archive-bench's table.
# tests/bench/README.md explains every row and column.
#
# Environment:
#   BUILD=build            where gazette, loadgen and archive-bench are
#   BENCH_QUICK=1          one round, short runs (about a minute)
#   BENCH_ROUNDS=n         rounds (default 3; 1 with BENCH_QUICK)
#   BENCH_DURATION=s       measured seconds per run (default 2; 0.75 quick)
#   BENCH_WARMUP=s         warm-up seconds per run (default 0.5; 0.25 quick)
#   BENCH_MOLLY=0          leave molly-brown out (1: the default, install it if
#                          missing, when root and the archive answers)
#   BENCH_POSTS=n          posts for archive-bench and the big gazette (100000;
#                          0 skips both)
#   BENCH_NICE=n           servers, loadgen and openssl speed in their own
#                          sessions (scheduler autogroups) at nice n (root for
#                          n < 0); off by default
#   BENCH_KEEP=1           keep the scratch folder (its path is printed)
# Progress goes to stderr; the report to stdout and to $BUILD/bench-report.md,
# the raw loadgen JSON of every run to $BUILD/bench-raw/.
set -u -o pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) build=$BUILD ;; *) build=$repo/$BUILD ;; esac
GAZETTE=$build/gazette
LOADGEN=$build/loadgen
ARCHIVE_BENCH=$build/archive-bench

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-1}; DUR=${BENCH_DURATION:-0.75}; WARM=${BENCH_WARMUP:-0.25}
	SPEED_SECONDS=1
else
	ROUNDS=${BENCH_ROUNDS:-3}; DUR=${BENCH_DURATION:-2}; WARM=${BENCH_WARMUP:-0.5}
	SPEED_SECONDS=2
fi
WANT_MOLLY=${BENCH_MOLLY:-1}
POSTS=${BENCH_POSTS:-100000}

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

for b in "$GAZETTE" "$LOADGEN"; do
	[ -x "$b" ] || die "$b is missing: run make bench (it builds it)"
done
[ "$POSTS" = 0 ] || [ -x "$ARCHIVE_BENCH" ] || die "$ARCHIVE_BENCH is missing: run make bench"
command -v openssl >/dev/null || die "openssl (the command) is needed"
[ -d "$repo/content/posts" ] || die "$repo/content/posts is missing"

# --- scratch folder, and cleaning up whatever happens ------------------------
S=$(mktemp -d "${TMPDIR:-/tmp}/gazette-bench.XXXXXX") || die "mktemp failed"
# Readable by all: gazette started as root serves as an unprivileged user.
chmod 755 "$S"
mkdir -p "$S/res"
PIDS=()          # every server we started (supervisors: their workers follow)
ARCHIVE_DIR=     # archive-bench's kept folder

# Every process below pid, pid included.
tree_pids() {
	local p=$1 c
	[ -d "/proc/$p" ] || return 0
	echo "$p"
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
		tree_pids "$c"
	done
}

# SIGTERM, up to 5 s to go, then SIGKILL for what is left of the tree.
stop_tree() {
	local p=$1 pids i q alive
	pids=$(tree_pids "$p")
	[ -n "$pids" ] || return 0
	kill -TERM "$p" 2>/dev/null
	for i in $(seq 50); do
		alive=
		for q in $pids; do kill -0 "$q" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for q in $pids; do kill -KILL "$q" 2>/dev/null; done
	wait "$p" 2>/dev/null
	forget "$p"
}
# Drops a stopped server from PIDS, so that cleanup never signals a reused pid.
forget() {
	local q keep=()
	for q in "${PIDS[@]}"; do [ "$q" = "$1" ] || keep+=("$q"); done
	PIDS=("${keep[@]}")
}

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do stop_tree "$p"; done
	[ -n "$ARCHIVE_DIR" ] && [ -d "$ARCHIVE_DIR" ] && rm -rf "$ARCHIVE_DIR"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "bench: kept $S"
	else
		rm -rf "$S"
	fi
}
trap cleanup EXIT
trap 'say "bench: interrupted"; exit 130' INT TERM

# --- cores and pinning ---------------------------------------------------------
# The CPUs this process may use, from /proc/self/status ("0-1,4").
allowed_cpus() {
	local list part
	list=$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status)
	IFS=, read -ra parts <<<"$list"
	for part in "${parts[@]}"; do
		case $part in
		*-*) seq "${part%-*}" "${part#*-}" ;;
		*) echo "$part" ;;
		esac
	done
}
mapfile -t CPUS < <(allowed_cpus)
NCPU=${#CPUS[@]}
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
	GEN_CPU=${CPUS[0]}; SRV_CPU=${CPUS[1]}
	PIN_GEN=(taskset -c "$GEN_CPU"); PIN_SRV=(taskset -c "$SRV_CPU")
	PINNING="load generator on CPU $GEN_CPU, every server process on CPU $SRV_CPU (taskset)"
else
	GEN_CPU=; SRV_CPU=
	PIN_GEN=(); PIN_SRV=()
	if [ "$NCPU" -lt 2 ]; then
		PINNING="NOT pinned: only $NCPU core, so the generator and the server share it"
	else
		PINNING="NOT pinned: taskset (util-linux) is missing"
	fi
fi

# Priority: with BENCH_NICE=n (root for n < 0), servers, loadgen and openssl
# speed each run in a new session, so in their own scheduler autogroup, at
# nice n: where autogroups are on, a background job's own nice value does
# not make it yield to another session, so this is how the bench gets the
# cores when others' jobs run.
PRIO=()
PRIO_NOTE="default priority"
if [ -n "${BENCH_NICE:-}" ] && [ "${BENCH_NICE}" != 0 ]; then
	PRIO=(setsid bash -c 'echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' "$BENCH_NICE")
	PRIO_NOTE="BENCH_NICE=$BENCH_NICE: every server, loadgen and openssl speed in its own session (scheduler autogroup) at nice $BENCH_NICE"
fi
PIN_GEN=("${PRIO[@]}" "${PIN_GEN[@]}")
PIN_SRV=("${PRIO[@]}" "${PIN_SRV[@]}")

# --- ports -----------------------------------------------------------------------
declare -A TAKEN=()
# PORT = a port nothing on this machine uses (any state, IPv4 or IPv6), below
# the ephemeral range so that no client socket takes it meanwhile, and not
# handed out before. (Not in a $(...) subshell, which would forget TAKEN.)
free_port() {
	local used h p i
	used=" "
	for h in $(awk 'FNR > 1 { n = split($2, a, ":"); print a[n] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
		used+="$((16#$h)) "
	done
	for i in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		case $used in *" $p "*) continue ;; esac
		[ -n "${TAKEN[$p]:-}" ] && continue
		TAKEN[$p]=1
		PORT=$p
		return 0
	done
	return 1
}

# --- loadgen output ---------------------------------------------------------------
# jget FILE KEY: a top-level scalar of loadgen's one-line JSON.
jget() { grep -o "\"$2\":[^,}]*" "$1" 2>/dev/null | head -n1 | cut -d: -f2- | tr -d '"'; }
# Median, sum and maximum of the numbers on stdin (nulls and blanks skipped).
median() { awk '$1 != "" && $1 != "null"' | sort -g | awk '{ v[NR] = $1 } END {
	if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
total() { awk '$1 != "" && $1 != "null" { s += $1; n++ } END { if (n) print s }'; }
maximum() { awk '$1 != "" && $1 != "null" { if (n == 0 || $1 > m) m = $1; n++ } END { if (n) print m }'; }
# field KEY FILES...: the key's value in each file, one a line.
field() { local k=$1 f; shift; for f; do jget "$f" "$k"; echo; done; }

# Readiness: a real request answered (20 for Gemini, anything for Gopher).
# Polls every 0.1 s for up to $3 seconds while the process lives.
wait_ready() {
	local pid=$1 port=$2 limit=$3 mode=${4:-full} url=${5:-} i n
	n=$(awk -v l="$limit" 'BEGIN { print int(l * 10) }')
	for ((i = 0; i < n; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if [ "$mode" = plain ]; then
			"$LOADGEN" -m plain -p "$port" -r "$url" -n 1 -T 2 -o json >/dev/null 2>&1 && return 0
		else
			"$LOADGEN" -p "$port" -r "gemini://localhost:$port/" -n 1 -T 2 -o json >/dev/null 2>&1 && return 0
		fi
		sleep 0.1
	done
	return 1
}

# Sum of Rss and Pss (KiB) over a process tree, and how many processes: "rss pss n".
tree_mem() {
	local p rss=0 pss=0 n=0 r s
	for p in $(tree_pids "$1"); do
		read -r r s < <(awk '/^Rss:/ { r = $2 } /^Pss:/ { s = $2 } END { print r + 0, s + 0 }' \
		    /proc/"$p"/smaps_rollup 2>/dev/null) || continue
		rss=$((rss + r)); pss=$((pss + s)); n=$((n + 1))
	done
	echo "$rss $pss $n"
}

# Sum of Rss and Pss (KiB) over a supervisor's workers, and how many: "rss pss n".
worker_mem() {
	local p rss=0 pss=0 n=0 r s
	for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = gazette-worker ] || continue
		read -r r s < <(awk '/^Rss:/ { r = $2 } /^Pss:/ { s = $2 } END { print r + 0, s + 0 }' \
		    /proc/"$p"/smaps_rollup 2>/dev/null) || continue
		rss=$((rss + r)); pss=$((pss + s)); n=$((n + 1))
	done
	echo "$rss $pss $n"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# search_page PORT QUERY: gazette's Gemini search page for QUERY (URL-encoded).
search_page() {
	printf 'gemini://localhost:%s/search?%s\r\n' "$1" "$2" |
	    timeout 10 openssl s_client -quiet -connect "127.0.0.1:$1" -servername localhost 2>/dev/null
}

# until_found PORT WORD SECONDS T0: polls a search for WORD until it finds a
# post (for at most SECONDS), then prints the milliseconds since T0.
until_found() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		if search_page "$1" "$2" | grep -Eq ' match(es)?\.'; then
			echo $(($(now_ms) - $4))
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# CPU clock ticks used by a process tree so far (own + reaped children).
tree_ticks() {
	local p t=0 v
	for p in $(tree_pids "$1"); do
		v=$(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }')
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
# Busy and steal ticks of one CPU ("" = all) from /proc/stat: "busy irq steal total".
cpu_ticks() {
	awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4, $7 + $8, $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}
# KIDS = user + system seconds of this shell's reaped children (the times
# builtin, run in this shell: in a $(...) subshell it would see the subshell's).
kids_cpu() {
	times >"$S/times.txt"
	KIDS=$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } print s }' "$S/times.txt")
}

# --- the environment ------------------------------------------------------------------
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
GIT_REV=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
say "bench: scratch folder $S; $PINNING"

# --- content ------------------------------------------------------------------------
cp -r "$repo/content" "$S/root"
POST_FILE=$(ls "$S/root/posts" | grep '\.txt$' | sort | head -n1)
POST_STEM=${POST_FILE%.txt}
head -c 2048 /dev/urandom | base64 -w 64 | head -c 1023 >"$S/root/1k.txt"
echo >>"$S/root/1k.txt"
head -c $((10 << 20)) /dev/urandom >"$S/root/10m.bin"
# A folder of 3,000 files for the Gopher listing rows: half named .txt, half
# with no extension (typed by their bytes).
mkdir "$S/root/many"
for ((i = 0; i < 1500; i++)); do
	printf 'note %d\n' "$i" >"$S/root/many/note-$i.txt"
	printf 'data %d\n' "$i" >"$S/root/many/data-$i"
done
chmod -R a+rX "$S/root"

# --- gazette --------------------------------------------------------------------------
# start_gazette NAME ROOT GOPHER(0/1): sets SRV_PID, SRV_GEM, SRV_GOPH.
start_gazette() {
	local name=$1 root=$2 gopher=$3 limit=${4:-20} try conf pid
	for try in 1 2 3 4 5; do
		free_port || return 1
		SRV_GEM=$PORT SRV_GOPH=0
		if [ "$gopher" = 1 ]; then free_port || return 1; SRV_GOPH=$PORT; fi
		conf=$S/$name.conf
		cat >"$conf" <<-EOF
		# written by tests/bench/bench.sh
		listen = 127.0.0.1
		gemini_port = $SRV_GEM
		gopher_port = $SRV_GOPH
		workers = ${SRV_WORKERS:-1}
		access_log = no
		log_file = $S/$name.log
		state_dir = $S/$name.state
		$LIMITS
		[host localhost]
		root = $root
		cert = $S/certs/localhost.crt
		key = $S/certs/localhost.key
		title = "North Korea News Digest"
		description = "A monthly archive of news about North Korea and its people."
		lang = en
		EOF
		"${PIN_SRV[@]}" "$GAZETTE" -f -c "$conf" >>"$S/$name.stderr" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		if wait_ready "$pid" "$SRV_GEM" "$limit"; then
			SRV_PID=$pid
			return 0
		fi
		stop_tree "$pid"
		if grep -qi 'in use' "$S/$name.log" "$S/$name.stderr" 2>/dev/null; then
			say "bench: $name: port taken, trying others"
			continue
		fi
		break
	done
	say "bench: $name did not start; its log:"
	tail -n 20 "$S/$name.log" "$S/$name.stderr" >&2 2>/dev/null
	return 1
}

# The bench is one client (127.0.0.1): gazette's per-client limits would turn
# it away after a few requests, so they are off, where this gazette has them.
LIMITS=$'client_connections = 0\nclient_rate = 0'
printf 'listen = 127.0.0.1\n%s\n[host localhost]\nroot = %s\n' "$LIMITS" "$S/root" >"$S/check.conf"
if ! "$GAZETTE" -n -c "$S/check.conf" >"$S/check.log" 2>&1; then
	grep -q 'unknown key' "$S/check.log" || { cat "$S/check.log" >&2; die "gazette rejects its configuration"; }
	LIMITS="# (this gazette has no per-client limits)"
fi

say "bench: starting gazette (workers = 1)"
start_gazette gazette "$S/root" 1 || exit 1
G_PID=$SRV_PID; G_GEM=$SRV_GEM; G_GOPH=$SRV_GOPH
wait_ready "$G_PID" "$G_GOPH" 10 plain "" || die "gazette's Gopher port does not answer"
read -r G_IDLE_RSS G_IDLE_PSS G_NPROC < <(tree_mem "$G_PID")

# --- molly-brown ------------------------------------------------------------------------
MOLLY=0
MOLLY_NOTE=
if [ "$WANT_MOLLY" != 0 ]; then
	if ! command -v molly-brown >/dev/null; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			say "bench: installing molly-brown (apt-get)"
			export DEBIAN_FRONTEND=noninteractive
			timeout 300 apt-get install -y -q molly-brown >"$S/apt.log" 2>&1 ||
			    { timeout 300 apt-get update -q >>"$S/apt.log" 2>&1 &&
			      timeout 300 apt-get install -y -q molly-brown >>"$S/apt.log" 2>&1; }
		fi
	fi
	if command -v molly-brown >/dev/null; then
		MOLLY=1
	else
		MOLLY_NOTE="molly-brown is not installed and could not be (not root, or no package archive): skipped"
	fi
else
	MOLLY_NOTE="molly-brown left out (BENCH_MOLLY=0)"
fi

if [ "$MOLLY" = 1 ]; then
	M=$S/molly
	mkdir -p "$M/docs"
	# The same bytes as gazette's home page, as a static index.gmi.
	printf 'gemini://localhost:%s/\r\n' "$G_GEM" |
	    timeout 10 openssl s_client -quiet -connect "127.0.0.1:$G_GEM" -servername localhost \
	    2>/dev/null | tail -n +2 >"$M/docs/index.gmi"
	if [ -s "$M/docs/index.gmi" ]; then
		MOLLY_HOME="gazette's home page, $(wc -c <"$M/docs/index.gmi") bytes, as a static file"
	else
		cp "$S/root/1k.txt" "$M/docs/index.gmi"
		MOLLY_HOME="gazette's home page could not be fetched: the 1 KiB file instead"
	fi
	cp "$S/root/1k.txt" "$S/root/10m.bin" "$M/docs/"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
	    -keyout "$M/key.pem" -out "$M/cert.pem" >"$M/openssl.log" 2>&1 ||
	    die "could not make molly-brown's certificate"
	chmod -R a+rX "$M"
	for try in 1 2 3 4 5; do
		free_port || die "no free port"
		M_PORT=$PORT
		cat >"$M/molly.conf" <<-EOF
		# written by tests/bench/bench.sh
		Port = $M_PORT
		Hostname = "localhost"
		CertPath = "$M/cert.pem"
		KeyPath = "$M/key.pem"
		DocBase = "$M/docs"
		AccessLog = "/dev/null"
		ErrorLog = "$M/error.log"
		EOF
		"${PIN_SRV[@]}" molly-brown -c "$M/molly.conf" >>"$M/stderr.log" 2>&1 &
		M_PID=$!
		PIDS+=("$M_PID")
		wait_ready "$M_PID" "$M_PORT" 20 && break
		stop_tree "$M_PID"; M_PID=
		grep -qi 'in use' "$M/error.log" "$M/stderr.log" 2>/dev/null || break
	done
	if [ -n "${M_PID:-}" ]; then
		read -r M_IDLE_RSS M_IDLE_PSS M_NPROC < <(tree_mem "$M_PID")
		MOLLY_VERSION=$(dpkg-query -W -f '${Version}' molly-brown 2>/dev/null || echo "?")
	else
		MOLLY=0
		MOLLY_NOTE="molly-brown did not start: $(tail -n 2 "$M/error.log" "$M/stderr.log" 2>/dev/null | tr '\n' ' ')"
	fi
fi
say "bench: gazette on gemini $G_GEM, gopher $G_GOPH$([ "$MOLLY" = 1 ] && echo ", molly-brown on $M_PORT")"

# --- the cases ----------------------------------------------------------------------------
# id|label|gazette request|molly-brown request (- for none)|concurrency|mode
CASES=()
for page in home month post 1k; do
	case $page in
	home) label="Gemini home"; g="/"; m="/" ;;
	month) label="Gemini month /archive/2020/01/"; g="/archive/2020/01/"; m=- ;;
	post) label="Gemini post"; g="/posts/$POST_STEM.gmi"; m=- ;;
	1k) label="1 KiB static file"; g="/1k.txt"; m="/1k.txt" ;;
	esac
	for mode in full resume; do
		for c in 1 16 128; do
			CASES+=("$page-$mode-$c|$label|$g|$m|$c|$mode")
		done
	done
done
CASES+=("big-full-4|10 MiB file|/10m.bin|/10m.bin|4|full")
CASES+=("gmenu-plain-16|Gopher home menu|||16|plain")
CASES+=("gpost-plain-16|Gopher post as text|/posts/$POST_STEM.txt||16|plain")
# A raw file over plain Gopher: sendfile, no copy through the worker.
CASES+=("gbig-plain-4|Gopher 10 MiB file|/10m.bin||4|plain")
# bulk ID: a row read in MB/s.
bulk() { [ "$1" = big-full-4 ] || [ "$1" = gbig-plain-4 ]; }

# run_case ID SERVER REQUEST C MODE ROUND
run_case() {
	local id=$1 srv=$2 req=$3 c=$4 mode=$5 r=$6 port pid out
	if [ "$srv" = gazette ]; then
		pid=$G_PID
		if [ "$mode" = plain ]; then port=$G_GOPH; else port=$G_GEM; fi
	else
		pid=$M_PID; port=$M_PORT
	fi
	kill -0 "$pid" 2>/dev/null || { say "bench: $srv (pid $pid) died; its log:";
		tail -n 20 "$S"/*.log "$S"/molly/*.log >&2 2>/dev/null; exit 1; }
	[ "$mode" = plain ] || req="gemini://localhost:$port$req"
	out=$S/res/$id.$srv.$r.json
	"${PIN_GEN[@]}" "$LOADGEN" -p "$port" -r "$req" -c "$c" -d "$DUR" -w "$WARM" -m "$mode" \
	    -T 10 -P "$pid" -o json >"$out" 2>"$out.err"
	awk -v r="$r" -v srv="$srv" -v id="$id" '{
		split("rps server_rps_per_core p99_ms errors", want, " ")
		for (i = 1; i <= 4; i++) { v[i] = ""; if (match($0, "\"" want[i] "\":[^,}]*")) {
			v[i] = substr($0, RSTART, RLENGTH); sub(/^[^:]*:/, "", v[i]) } }
		printf "  round %d  %-8s %-16s %8.0f req/s %8.0f /core-s  p99 %7.2f ms  errors %s\n",
		    r, srv, id, v[1], v[2], v[3], v[4] }' "$out" >&2
}

# The crypto ceiling: openssl speed on the server's core, once a round.
run_speed() {
	"${PIN_SRV[@]}" openssl speed -seconds "$SPEED_SECONDS" ecdsap256 ecdhx25519 \
	    >"$S/res/speed.$1.txt" 2>/dev/null
	awk '/ecdsa \(nistp256\)/ { print "sign", $(NF - 1) } /ecdh \(X25519\)/ { print "x25519", $NF }' \
	    "$S/res/speed.$1.txt" >"$S/res/speed.$1.rates"
	say "  round $1  openssl speed: $(tr '\n' ' ' <"$S/res/speed.$1.rates")"
}

# The 3,000-file folder over Gopher: its listing asked by 4 clients at once
# while one more asks for the small file (does a long listing hold it up?);
# "kept": the folder unchanged, so its page is kept; "changing": a file made
# or removed every 0.2 s, so the listing is made anew after each change (a
# page is kept once its folder has been still for 50 ms).
run_folder() {
	local r=$1 how lg ticker out
	for how in kept changing; do
		ticker=
		if [ "$how" = changing ]; then
			( while :; do : >"$S/root/many/tick"; sleep 0.1; rm -f "$S/root/many/tick"; sleep 0.1; done ) &
			ticker=$!
		fi
		out=$S/res/gdir-$how-4.gazette.$r.json
		"${PIN_GEN[@]}" "$LOADGEN" -m plain -p "$G_GOPH" -r /many/ -c 4 -d "$DUR" -w "$WARM" \
		    -T 10 -P "$G_PID" -o json >"$out" 2>"$out.err" &
		lg=$!
		"${PIN_GEN[@]}" "$LOADGEN" -m plain -p "$G_GOPH" -r /1k.txt -c 1 -d "$DUR" -w "$WARM" \
		    -T 10 -o json >"$S/res/gbehind-$how-1.gazette.$r.json" 2>/dev/null
		wait "$lg"
		[ -n "$ticker" ] && { kill "$ticker"; wait "$ticker" 2>/dev/null; rm -f "$S/root/many/tick"; }
		say "  round $r  gazette  3,000-file folder ($how): p99 $(jget "$out" p99_ms) ms, the small file behind it p99 $(jget "$S/res/gbehind-$how-1.gazette.$r.json" p99_ms) ms"
	done
}

# --- the rounds ------------------------------------------------------------------------------
NRUNS=${#CASES[@]}
say "bench: $ROUNDS round(s) of $NRUNS cases, ${WARM}s warm-up + ${DUR}s each"
[ -n "$SRV_CPU" ] && { read -r B1 I1 ST1 T1 < <(cpu_ticks "$SRV_CPU"); read -r B0 I0 ST0 T0 < <(cpu_ticks "$GEN_CPU"); }
SRV_T0=$(tree_ticks "$G_PID"); [ "$MOLLY" = 1 ] && SRV_T0=$((SRV_T0 + $(tree_ticks "$M_PID")))
kids_cpu; KID0=$KIDS
SPEED_CPU=0
for ((r = 1; r <= ROUNDS; r++)); do
	kids_cpu; k0=$KIDS
	run_speed "$r"
	kids_cpu; SPEED_CPU=$(awk -v a="$SPEED_CPU" -v b="$k0" -v c="$KIDS" 'BEGIN { print a + c - b }')
	i=0
	for cs in "${CASES[@]}"; do
		IFS='|' read -r id label g m c mode <<<"$cs"
		servers=(gazette)
		if [ "$MOLLY" = 1 ] && [ "$m" != - ] && [ "$mode" != plain ]; then
			# Alternate who goes first, so neither always runs after the other.
			if (( (r + i) % 2 )); then servers=(gazette molly); else servers=(molly gazette); fi
		fi
		for srv in "${servers[@]}"; do
			if [ "$srv" = gazette ]; then run_case "$id" gazette "$g" "$c" "$mode" "$r"
			else run_case "$id" molly "$m" "$c" "$mode" "$r"; fi
		done
		i=$((i + 1))
	done
	run_folder "$r"
done
kids_cpu; KID1=$KIDS
SRV_T1=$(tree_ticks "$G_PID"); [ "$MOLLY" = 1 ] && SRV_T1=$((SRV_T1 + $(tree_ticks "$M_PID")))
[ -n "$SRV_CPU" ] && { read -r B1b I1b ST1b T1b < <(cpu_ticks "$SRV_CPU"); read -r B0b I0b ST0b T0b < <(cpu_ticks "$GEN_CPU"); }
read -r G_AFTER_RSS G_AFTER_PSS G_AFTER_N < <(tree_mem "$G_PID")
M_CIPHER=; G_CIPHER=$(jget "$S/res/1k-full-16.gazette.1.json" cipher)
[ "$MOLLY" = 1 ] && M_CIPHER=$(jget "$S/res/1k-full-16.molly.1.json" cipher)

# Stop them before the big archive: nothing else should run meanwhile.
stop_tree "$G_PID"
[ "$MOLLY" = 1 ] && stop_tree "$M_PID"

# --- 100,000 posts ---------------------------------------------------------------------------
AB_OUT=
if [ "$POSTS" != 0 ]; then
	say "bench: archive-bench with $POSTS posts"
	AB_OUT=$(cd "$S" && TMPDIR=$S "${PIN_SRV[@]}" "$ARCHIVE_BENCH" -n "$POSTS" -k 2>&1)
	ARCHIVE_DIR=$(printf '%s\n' "$AB_OUT" | awk '/^kept / { print $2 }')
	AB_SCAN=$(printf '%s\n' "$AB_OUT" | awk -F'|' '/start-up scan/ { gsub(/^ +| +$/, "", $3); print $3 }')
	AB_IDX=$(printf '%s\n' "$AB_OUT" | awk -F'|' '/memory of its records/ { gsub(/^ +| +$/, "", $3); print $3 }')
	AB_BUILD=$(printf '%s\n' "$AB_OUT" | awk -F'|' '/image build/ { gsub(/^ +| +$/, "", $3); print $3 }')
	AB_IMAGE=$(printf '%s\n' "$AB_OUT" | awk -F'|' '/index image/ { gsub(/^ +| +$/, "", $3); print $3 }')
	if [ -n "$ARCHIVE_DIR" ] && [ -d "$ARCHIVE_DIR" ]; then
		chmod -R a+rX "$ARCHIVE_DIR"
		say "bench: gazette on $POSTS posts ($ARCHIVE_DIR)"
		t0=$(now_ms)
		if start_gazette big "$ARCHIVE_DIR" 0 120; then
			B_PID=$SRV_PID; B_GEM=$SRV_GEM
			read -r B_IDLE_RSS B_IDLE_PSS B_NPROC < <(tree_mem "$B_PID")
			B_SCAN=$(grep -o 'indexed in [0-9.]* ms' "$S/big.log" | head -n1 | awk '{ print $3 }')
			say "bench: waiting for the search index to be built"
			B_BUILT=$(until_found "$B_GEM" north 900 "$t0")
			# A post saved now: how long until a search finds it.
			printf 'Title: Saved during the bench\n\nOne word, zyxbenchword, in no other post.\n' \
			    >"$ARCHIVE_DIR/saved.tmp"
			chmod a+r "$ARCHIVE_DIR/saved.tmp"
			t0=$(now_ms)
			mv "$ARCHIVE_DIR/saved.tmp" "$ARCHIVE_DIR/posts/2031-01-01-saved.txt"
			B_SAVED=$(until_found "$B_GEM" zyxbenchword 30 "$t0")
			for q in north river korea+talks '%22north+river%22'; do search_page "$B_GEM" "$q" >/dev/null; done
			read -r B_W_RSS B_W_PSS B_W_N < <(worker_mem "$B_PID")
			# A restart over the index already built: until a search answers again.
			stop_tree "$B_PID"; forget "$B_PID"
			t0=$(now_ms)
			if start_gazette big "$ARCHIVE_DIR" 0 120; then
				B_PID=$SRV_PID; B_GEM=$SRV_GEM
				B_RESTART=$(until_found "$B_GEM" zyxbenchword 120 "$t0")
				B_SCAN_AGAIN=$(grep -o 'indexed in [0-9.]* ms' "$S/big.log" | tail -n1 | awk '{ print $3 }')
				for q in north river korea+talks '%22north+river%22'; do search_page "$B_GEM" "$q" >/dev/null; done
				read -r _ B_ONE_PSS _ < <(tree_mem "$B_PID")
			else
				B_PID=
			fi
			B_DB=$(du -k "$S/big.state" 2>/dev/null | tail -n1 | awk '{ print $1 }')
		fi
		if [ -n "${B_PID:-}" ]; then
			# Some load on generated pages: the home, a month, a post.
			# (ls, not a glob: 100,000 names overflow an argument list)
			post=$(ls "$ARCHIVE_DIR/posts" | grep '\.txt$' | sort | head -n1)
			month=$(printf '%s\n' "$post" | awk -F- '{ print "/archive/" $1 "/" $2 "/" }')
			for req in / "$month" "/posts/${post%.txt}.gmi"; do
				"${PIN_GEN[@]}" "$LOADGEN" -p "$B_GEM" -r "gemini://localhost:$B_GEM$req" -c 128 \
				    -d "$DUR" -w "$WARM" -m full -T 10 -P "$B_PID" -o json \
				    >"$S/res/posts-$POSTS-$(echo "$req" | tr -c 'a-z0-9\n' '_').json" 2>/dev/null
			done
			# The largest tag's first page, and a search (its page kept after the first).
			for req in btag:/tags/north/ bsearch:/search?river; do
				"${PIN_GEN[@]}" "$LOADGEN" -p "$B_GEM" -r "gemini://localhost:$B_GEM${req#*:}" -c 16 \
				    -d "$DUR" -w "$WARM" -m full -T 10 -P "$B_PID" -o json \
				    >"$S/res/${req%%:*}-full-16.gazette.1.json" 2>/dev/null
			done
			bigf=("$S"/res/posts-*.json "$S"/res/btag-*.json "$S"/res/bsearch-*.json)
			B_LOAD_RSS=$(field server_rss_max_kb "${bigf[@]}" | maximum)
			B_LOAD_PSS=$(field server_pss_max_kb "${bigf[@]}" | maximum)
			B_ERR=$(field errors "${bigf[@]}" | total)
			B_RPS=$(for f in "$S"/res/posts-*.json; do jget "$f" rps; done | awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $1 }')
			stop_tree "$B_PID"; forget "$B_PID"
			# The same with a second worker: what it adds to the whole (PSS).
			t0=$(now_ms)
			if SRV_WORKERS=2 start_gazette big2 "$ARCHIVE_DIR" 0 120 &&
			    until_found "$SRV_GEM" zyxbenchword 120 "$t0" >/dev/null; then
				for q in north river korea+talks '%22north+river%22' north river; do
					search_page "$SRV_GEM" "$q" >/dev/null
				done
				read -r _ B_TWO_PSS _ < <(tree_mem "$SRV_PID")
				stop_tree "$SRV_PID"
			fi
		fi
		rm -rf "$ARCHIVE_DIR"
	fi
fi

# --- the key holder's cost ----------------------------------------------------
# Full handshakes with the keys in the key holder (this gazette) and in the
# worker (BENCH_KEYS_BASELINE: a gazette built before the key holder, e.g.
# git worktree add /tmp/kb 41e91df && make -C /tmp/kb build/gazette), on the
# same root and certificate. This machine's speed drifts by tens of percent
# over seconds: both servers run side by side and short runs alternate
# between them (KH_ROUNDS pairs), and the figure is the median of each
# pair's ratio, so both halves of a pair meet the same machine.
KH_C="16 128"
KH_ROUNDS=$((ROUNDS * 4))
if [ -n "${BENCH_KEYS_BASELINE:-}" ] && [ -x "$BENCH_KEYS_BASELINE" ]; then
	say "bench: the key holder against the key in the worker ($BENCH_KEYS_BASELINE)"
	declare -A KH_PID KH_PORT
	for who in holder worker; do
		bin=$GAZETTE
		[ "$who" = worker ] && bin=$BENCH_KEYS_BASELINE
		GAZETTE=$bin start_gazette "keys-$who" "$S/root" 0 || die "gazette ($who) did not start"
		KH_PID[$who]=$SRV_PID KH_PORT[$who]=$SRV_GEM
	done
	for c in $KH_C; do
		for r in $(seq "$KH_ROUNDS"); do
			for who in holder worker; do
				"${PIN_GEN[@]}" "$LOADGEN" -p "${KH_PORT[$who]}" \
				    -r "gemini://localhost:${KH_PORT[$who]}/1k.txt" -c "$c" -d 1 -w 0.2 \
				    -m full -T 10 -P "${KH_PID[$who]}" -o json \
				    >"$S/res/keys-$c.$who.$r.json" 2>/dev/null
			done
		done
	done
	for who in holder worker; do stop_tree "${KH_PID[$who]}"; forget "${KH_PID[$who]}"; done
fi

# --- the report ------------------------------------------------------------------------------
END=$(date +%s)
report=$S/report.md
exec 3>&1 1>"$report"

num() { # a number with thousands separators, or – when empty
	[ -z "${1:-}" ] && { printf '–'; return; }
	awk -v v="$1" -v d="${2:-0}" 'BEGIN { s = sprintf("%." d "f", v); neg = s ~ /^-/; sub(/^-/, "", s)
		split(s, p, "."); i = p[1]; o = ""; while (length(i) > 3) { o = "," substr(i, length(i) - 2) o; i = substr(i, 1, length(i) - 3) }
		o = i o; if (d > 0) o = o "." p[2]; printf "%s%s", (neg ? "-" : ""), o }'
}
pct() { [ -z "${1:-}" ] && { printf '–'; return; }; awk -v v="$1" 'BEGIN { printf "%.0f%%", v * 100 }'; }
mib() { [ -z "${1:-}" ] && { printf '–'; return; }; awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }'; }
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b == 0) printf "–"; else printf "%.2fx", a / b }'; }

echo "## gazette benchmark ($( [ "$QUICK" = 1 ] && echo "BENCH_QUICK: $ROUNDS round(s), short runs, indicative only" || echo "medians of $ROUNDS interleaved rounds"))"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), gazette $GIT_REV"
echo "- CPU: ${CPU_MODEL:-unknown}; $NCPU core(s) usable ($(nproc --all 2>/dev/null || echo ?) online); $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
echo "- kernel: $(uname -srm); $(openssl version)"
[ "$MOLLY" = 1 ] && echo "- molly-brown $MOLLY_VERSION (Debian)"
echo "- priority: $PRIO_NOTE"
echo "- pinning: $PINNING; gazette runs with \`workers = 1\` (a supervisor and one worker), so every figure is one server core's; molly-brown (Go) pinned to one core runs with GOMAXPROCS = 1"
case $LIMITS in
client*) echo "- gazette's per-client limits are off (\`client_connections = 0\`, \`client_rate = 0\`): the generator is a single address; \`access_log = no\` (molly-brown logs to /dev/null: it cannot turn its access log off)" ;;
*) echo "- \`access_log = no\` (molly-brown logs to /dev/null: it cannot turn its access log off)" ;;
esac
echo "- each run: ${WARM} s warm-up, then ${DUR} s measured; rounds interleave the servers (alternating who goes first) so drift hits both alike"
echo "- load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg); total time $((END - START)) s"
if [ -n "$SRV_CPU" ]; then
	awk -v b1="$((B1b - B1))" -v t1="$((T1b - T1))" -v s1="$((ST1b - ST1))" -v i1="$((I1b - I1))" \
	    -v b0="$((B0b - B0))" -v t0="$((T0b - T0))" -v s0="$((ST0b - ST0))" -v i0="$((I0b - I0))" \
	    -v srv="$((SRV_T1 - SRV_T0))" -v kid="$KID0" -v kid1="$KID1" -v sp="$SPEED_CPU" \
	    -v hz="$(getconf CLK_TCK)" 'BEGIN {
		gen = (kid1 - kid - sp) * hz; srv += sp * hz
		o1 = b1 - srv; if (o1 < 0) o1 = 0; o0 = b0 - gen; if (o0 < 0) o0 = 0
		printf "- other load during the runs (user+system time not charged to the bench'"'"'s own processes): %.0f%% of the server'"'"'s core, %.0f%% of the generator'"'"'s; interrupts %.0f%% / %.0f%%; hypervisor steal %.0f%% / %.0f%%\n",
		    100 * o1 / t1, 100 * o0 / t0, 100 * i1 / t1, 100 * i0 / t0, 100 * s1 / t1, 100 * s0 / t0 }'
fi
echo "- **the machine is shared and noisy**: other sessions' builds, tests and fuzzers may run meanwhile; compare rows of the same run, not across runs"
[ -n "$MOLLY_NOTE" ] && echo "- $MOLLY_NOTE"
echo

echo "| test | server | c | handshake | req/s | req per server core-s | MB/s | p50 ms | p90 ms | p99 ms | errors | server CPU | loadgen CPU | RSS MiB | PSS MiB | note |"
echo "|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"

# Every run's JSON (ID.SERVER.ROUND.json), flattened by one awk into
# "ID SERVER ROUND KEY VALUE" lines (error kinds as ek_KIND), then reduced to
# "ID.SERVER.KEY median sum max min first" lines: one pass, not a process
# per figure.
# A run whose measured window came out much shorter than asked (loadgen
# starts measuring when its loop next looks at the clock after the warm-up,
# but ends at a fixed time, so a long stall of the generator eats the window)
# is dropped, and counted as "dropped".
awk -v want="$DUR" 'FNR == 1 { n = split(FILENAME, p, "/"); split(p[n], q, "."); id = q[1]; srv = q[2]; r = q[3] }
{
	line = $0
	if (match(line, /"duration_s":[0-9.]+/) && substr(line, RSTART + 13, RLENGTH - 13) + 0 < 0.75 * want) {
		print id, srv, r, "dropped", 1
		next
	}
	gsub(/"error_details":\{[^}]*\}/, "", line)
	if (match(line, /"error_kinds":\{[^}]*\}/)) {
		ek = substr(line, RSTART + 15, RLENGTH - 16)
		m = split(ek, e, ",")
		for (i = 1; i <= m; i++) { split(e[i], kv, ":"); gsub(/"/, "", kv[1]); print id, srv, r, "ek_" kv[1], kv[2] }
		sub(/"error_kinds":\{[^}]*\}/, "", line)
	}
	gsub(/[{}"]/, "", line)
	m = split(line, f, ",")
	for (i = 1; i <= m; i++) {
		k = f[i]; v = f[i]; sub(/:.*/, "", k); sub(/^[^:]*:/, "", v)
		if (k != "" && v != "") print id, srv, r, k, v
	}
}' "$S"/res/*.*.*.json >"$S/all.txt" 2>/dev/null
awk '{ k = $1 "." $2 "." $4; if (!(k in n)) { order[++keys] = k; first[k] = $5 } ; v[k, ++n[k]] = $5 }
END {
	for (j = 1; j <= keys; j++) {
		k = order[j]; c = 0
		for (i = 1; i <= n[k]; i++) if (v[k, i] ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) x[++c] = v[k, i] + 0
		if (c == 0) { print k, "-", "-", "-", "-", first[k]; continue }
		for (i = 2; i <= c; i++) { t = x[i]; for (h = i - 1; h >= 1 && x[h] > t; h--) x[h + 1] = x[h]; x[h + 1] = t }
		med = (c % 2) ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2
		s = 0; for (i = 1; i <= c; i++) s += x[i]
		print k, med, s, x[c], x[1], first[k]
	}
}' "$S/all.txt" >"$S/agg.txt"
declare -A V=() SUM=() MAX=() MIN=() STR=()
while read -r k med sum max min first; do
	[ "$med" = - ] || { V[$k]=$med; SUM[$k]=$sum; MAX[$k]=$max; MIN[$k]=$min; }
	STR[$k]=$first
done <"$S/agg.txt"

# row ID SERVER LABEL C MODE: one table row from the aggregates.
row() {
	local id=$1 srv=$2 label=$3 c=$4 mode=$5 k u hs note kinds cmp n drop
	drop=${SUM[$id.$srv.dropped]:-0}
	if [ -z "${V[$id.$srv.rps]:-}" ]; then
		[ "$drop" != 0 ] && printf '| %s | %s | %s | %s | – | – | | | | | | | | | | all %s runs dropped: the measured window was cut short (a stalled generator) |\n' \
		    "$label" "$([ "$srv" = molly ] && echo molly-brown || echo gazette)" "$c" "$mode" "$drop"
		return 0
	fi
	V[$id.$srv.errors]=${SUM[$id.$srv.errors]:-}
	n=$(awk -v id="$id" -v s="$srv" '$1 == id && $2 == s && $4 == "rps"' "$S/all.txt" | wc -l)
	case $mode in
	full) hs="full" ;;
	resume) hs="resumed" ;;
	plain) hs="none (plain TCP)" ;;
	esac
	note=
	if [ "$mode" = resume ]; then
		note="resumed $(pct "${V[$id.$srv.resumed]:-}")"
	elif [ "$mode" = full ] && [ -n "${V[$id.$srv.resumed]:-}" ] &&
	    awk -v v="${V[$id.$srv.resumed]:-}" 'BEGIN { exit !(v > 0) }'; then
		note="resumed $(pct "${V[$id.$srv.resumed]:-}")!"
	fi
	kinds=
	for k in socket addr connect reset handshake write read unclean_eof empty status timeout; do
		[ "${SUM[$id.$srv.ek_$k]:-0}" != 0 ] && kinds+="${kinds:+, }$k ${SUM[$id.$srv.ek_$k]}"
	done
	[ -n "$kinds" ] && note="${note:+$note; }errors: $kinds"
	[ "$drop" != 0 ] && note="${note:+$note; }$drop run(s) dropped: window cut short by a stall"
	[ "$id" = big-full-4 ] && note="${note:+$note; }${STR[$id.$srv.cipher]:-}"
	# How far apart the rounds were: a wide range means a noisy moment.
	if [ "$n" -gt 1 ]; then
		k=server_rps_per_core; u="per core-s"
		bulk "$id" && { k=mbps; u="MB/s"; }
		note="${note:+$note; }rounds: $(num "${MIN[$id.$srv.$k]:-}")–$(num "${MAX[$id.$srv.$k]:-}") $u"
	fi
	if [ "$srv" = molly ]; then
		cmp="gazette ÷ molly-brown: req/s $(ratio "${V[$id.gazette.rps]:-}" "${V[$id.molly.rps]:-}")"
		cmp+=", per core-s $(ratio "${V[$id.gazette.server_rps_per_core]:-}" "${V[$id.molly.server_rps_per_core]:-}")"
		[ "$id" = big-full-4 ] && cmp="gazette ÷ molly-brown: MB/s $(ratio "${V[$id.gazette.mbps]:-}" "${V[$id.molly.mbps]:-}")"
		note="${note:+$note; }$cmp"
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | | | %s |\n' \
	    "$label" "$([ "$srv" = molly ] && echo molly-brown || echo gazette)" "$c" "$hs" \
	    "$(num "${V[$id.$srv.rps]:-}")" "$(num "${V[$id.$srv.server_rps_per_core]:-}")" \
	    "$(bulk "$id" && num "${V[$id.$srv.mbps]:-}" || echo)" \
	    "$(num "${V[$id.$srv.p50_ms]:-}" 2)" "$(num "${V[$id.$srv.p90_ms]:-}" 2)" "$(num "${V[$id.$srv.p99_ms]:-}" 2)" \
	    "$(num "${V[$id.$srv.errors]:-}")" "$(pct "${V[$id.$srv.server_cpu_share]:-}")" \
	    "$(pct "${V[$id.$srv.cpu_share]:-}")" "$note"
}

for cs in "${CASES[@]}" "gdir-kept-4|Gopher 3,000-file folder, kept|||4|plain" \
    "gbehind-kept-1|... the 1 KiB file asked meanwhile|||1|plain" \
    "gdir-changing-4|Gopher 3,000-file folder, changing every 0.2 s|||4|plain" \
    "gbehind-changing-1|... the 1 KiB file asked meanwhile|||1|plain"; do
	IFS='|' read -r id label g m c mode <<<"$cs"
	row "$id" gazette "$label" "$c" "$mode"
	if [ "$MOLLY" = 1 ] && [ "$m" != - ] && [ "$mode" != plain ]; then
		[ "$id" = "${id#home}" ] || label="Gemini home ($MOLLY_HOME)"
		row "$id" molly "$label" "$c" "$mode"
	fi
done

# Memory rows.
mrow() { # label server c rss pss note
	printf '| %s | %s | %s | | | | | | | | | | | %s | %s | %s |\n' "$1" "$2" "$3" "$(mib "$4")" "$(mib "$5")" "$6"
}
# peak KEY SERVER: the largest value over every Gemini run at c = 128.
peak() { awk -v k="$1" -v s="$2" '$1 ~ /-128$/ && $2 == s && $4 == k { if (n++ == 0 || $5 > m) m = $5 } END { if (n) print m }' "$S/all.txt"; }
G_LOAD_RSS=$(peak server_rss_max_kb gazette)
G_LOAD_PSS=$(peak server_pss_max_kb gazette)
mrow "whole server, idle" gazette "" "$G_IDLE_RSS" "$G_IDLE_PSS" "$G_NPROC processes, after start-up and one request"
[ "$MOLLY" = 1 ] && mrow "whole server, idle" molly-brown "" "$M_IDLE_RSS" "$M_IDLE_PSS" "$M_NPROC process"
mrow "whole server, under load" gazette 128 "$G_LOAD_RSS" "$G_LOAD_PSS" "peak of every Gemini run at c = 128"
if [ "$MOLLY" = 1 ]; then
	mrow "whole server, under load" molly-brown 128 "$(peak server_rss_max_kb molly)" \
	    "$(peak server_pss_max_kb molly)" "peak of every Gemini run at c = 128"
fi
mrow "whole server, after all runs" gazette "" "$G_AFTER_RSS" "$G_AFTER_PSS" "idle again: what the runs left behind"
if [ -n "${B_IDLE_RSS:-}" ]; then
	mrow "$(num "$POSTS") posts, idle" gazette "" "$B_IDLE_RSS" "$B_IDLE_PSS" "$B_NPROC processes; start-up scan ${B_SCAN:-?} ms"
	mrow "$(num "$POSTS") posts, under load" gazette 128 "$B_LOAD_RSS" "$B_LOAD_PSS" "peak over home, month and post pages at c = 128, full handshakes (req/s: ${B_RPS:-?}; errors ${B_ERR:-0})"
fi
if [ -n "${B_IDLE_RSS:-}" ]; then
	row btag-full-16 gazette "$(num "$POSTS") posts: the largest tag's page, /tags/north/" 16 full
	row bsearch-full-16 gazette "$(num "$POSTS") posts: a search, /search?river (kept after the first)" 16 full
	srow() { printf '| %s | gazette | | | | | | | | | | | | %s | %s | %s |\n' "$1" "${3:-}" "${4:-}" "$2"; }
	ms() { [ -n "${1:-}" ] && printf '%s ms' "$(num "$1")" || printf 'not within the time allowed'; }
	srow "$(num "$POSTS") posts: search index built by the server" "$(ms "${B_BUILT:-}") from start to the first search answered; $(num "${B_DB:-}") KiB on disk"
	srow "$(num "$POSTS") posts: a post saved, then found by a search" "$(ms "${B_SAVED:-}") (searching every 20 ms plus a TLS handshake)"
	srow "$(num "$POSTS") posts: restart with the index built" "$(ms "${B_RESTART:-}") from start to a search that finds the saved post"
	srow "$(num "$POSTS") posts: the worker, index open and searched" "$B_W_N worker(s), after 5 searches" "$(mib "${B_W_RSS:-}")" "$(mib "${B_W_PSS:-}")"
fi
if [ -n "${AB_SCAN:-}" ]; then
	printf '| %s posts, archive-bench | (indexer only) | | | | | | | | | | | | | | scan %s; records %s (RSS growth); image built in %s, %s, shared by every worker; one process, no server |\n' \
	    "$(num "$POSTS")" "$AB_SCAN" "$AB_IDX" "$AB_BUILD" "$AB_IMAGE"
fi

# The crypto ceiling: medians of the rounds' openssl speed.
SIGN=$(awk '$1 == "sign" { print $2 }' "$S"/res/speed.*.rates | median)
X25519=$(awk '$1 == "x25519" { print $2 }' "$S"/res/speed.*.rates | median)
if [ -n "$SIGN" ] && [ -n "$X25519" ]; then
	CEIL_FULL=$(awk -v s="$SIGN" -v x="$X25519" 'BEGIN { print 1 / (1 / s + 2 / x) }')
	CEIL_ONE=$(awk -v s="$SIGN" -v x="$X25519" 'BEGIN { print 1 / (1 / s + 1 / x) }')
	CEIL_RES=$(awk -v x="$X25519" 'BEGIN { print x / 2 }')
	printf '| crypto ceiling, full handshake | openssl speed | | full | | %s | | | | | | | | | | 1 ÷ (1/sign + 2/X25519): ECDSA P-256 sign %s/s, X25519 %s ops/s (one op counted for keygen, one for derive); counting one X25519 op: %s |\n' \
	    "$(num "$CEIL_FULL")" "$(num "$SIGN")" "$(num "$X25519")" "$(num "$CEIL_ONE")"
	printf '| crypto ceiling, resumed TLS 1.3 | openssl speed | | resumed | | %s | | | | | | | | | | X25519 ÷ 2: psk_dhe_ke still does keygen + derive, no signature |\n' "$(num "$CEIL_RES")"
fi
echo

# --- targets of issue 5 ---------------------------------------------------------------------------
verdict() { # value op limit -> met/missed
	awk -v v="${1:-}" -v op="$2" -v l="$3" 'BEGIN { if (v == "") { printf "not measured"; exit }
		ok = (op == ">=") ? v >= l : v < l; printf "%s", ok ? "**met**" : "**missed**" }'
}
by() { # value limit: how far from it, as a percentage
	awk -v v="${1:-}" -v l="$2" 'BEGIN { if (v == "") exit; printf " (%+.0f%% of the target)", 100 * (v - l) / l }'
}
echo "### Targets of issue 5 (gazette, this run)"
echo
for c in $KH_C; do
	kh=$(for f in "$S"/res/keys-"$c".holder.*.json; do jget "$f" server_rps_per_core; echo; done | median)
	kw=$(for f in "$S"/res/keys-"$c".worker.*.json; do jget "$f" server_rps_per_core; echo; done | median)
	# The median of the pairs' ratios: each pair ran back to back.
	kr=$(for f in "$S"/res/keys-"$c".holder.*.json; do
		a=$(jget "$f" server_rps_per_core) b=$(jget "${f/.holder./.worker.}" server_rps_per_core)
		awk -v a="$a" -v b="$b" 'BEGIN { if (a != "" && b != "" && b > 0) print a / b }'
	done | median)
	if [ -n "$kh" ] && [ -n "$kw" ] && [ -n "$kr" ]; then
		echo "- the key holder, full handshakes, 1 KiB file, c = $c: $(num "$kh") per server core-s, with the key in the worker $(num "$kw"); median ratio of $KH_ROUNDS back-to-back pairs $(printf '%.2fx' "$kr"), target ≥ 0.90x: $(verdict "$kr" ">=" 0.9)"
	else
		echo "- the key holder, full handshakes, c = $c: not measured (set BENCH_KEYS_BASELINE to a gazette built before the key holder, 41e91df)"
	fi
done
x=${V[1k-full-128.gazette.server_rps_per_core]:-}
echo "- full handshakes, 1 KiB file, c = 128: $(num "$x") per server core-s, target ≥ 6,000: $(verdict "$x" ">=" 6000)$(by "$x" 6000)$( [ "$MOLLY" = 1 ] && echo "; molly-brown $(num "${V[1k-full-128.molly.server_rps_per_core]:-}"), ratio $(ratio "$x" "${V[1k-full-128.molly.server_rps_per_core]:-}") (target > 2x)")"
x=${V[1k-resume-128.gazette.server_rps_per_core]:-}
echo "- resumed handshakes, 1 KiB file, c = 128: $(num "$x") per server core-s, target ≥ 10,000: $(verdict "$x" ">=" 10000)$(by "$x" 10000)$( [ "$MOLLY" = 1 ] && echo "; molly-brown $(num "${V[1k-resume-128.molly.server_rps_per_core]:-}")")"
for mode in full resume; do
	base=${V[1k-$mode-128.gazette.server_rps_per_core]:-}
	line=
	for page in home month post; do
		x=${V[$page-$mode-128.gazette.server_rps_per_core]:-}
		line+="${line:+, }$page $(awk -v a="$x" -v b="$base" 'BEGIN { if (a == "" || b == "" || b == 0) printf "–"; else printf "%.0f%%", 100 * a / b }')"
	done
	worst=$(for page in home month post; do x=${V[$page-$mode-128.gazette.server_rps_per_core]:-}
		awk -v a="$x" -v b="$base" 'BEGIN { if (a != "" && b != "" && b != 0) print a / b }'; done | sort -g | head -n1)
	echo "- generated pages vs the 1 KiB file ($mode, c = 128, per core-s): $line; target ≥ 90%: $(verdict "$worst" ">=" 0.9)"
done
p99max=$(for id in home-full-128 home-resume-128 month-full-128 month-resume-128 post-full-128 post-resume-128 1k-full-128 1k-resume-128; do
	echo "${V[$id.gazette.p99_ms]:-}"; done | maximum)
echo "- p99 latency at c = 128 (worst Gemini row): $(num "$p99max" 2) ms, target < 50 ms: $(verdict "$p99max" "<" 50)$( [ "$MOLLY" = 1 ] && echo "; molly-brown worst $(num "$(for id in home-full-128 home-resume-128 1k-full-128 1k-resume-128; do echo "${V[$id.molly.p99_ms]:-}"; done | maximum)" 2) ms")"
x=${V[big-full-4.gazette.mbps]:-}
echo "- 10 MiB file, c = 4: $(num "$x") MB/s, target ≥ 1,500: $(verdict "$x" ">=" 1500)$(by "$x" 1500)$( [ "$MOLLY" = 1 ] && echo "; molly-brown $(num "${V[big-full-4.molly.mbps]:-}") MB/s")"
x=${V[gmenu-plain-16.gazette.server_rps_per_core]:-}
echo "- Gopher menu: $(num "$x") per server core-s, target ≥ 20,000: $(verdict "$x" ">=" 20000)$(by "$x" 20000)"
kib() { awk -v v="${1:-}" 'BEGIN { if (v != "") printf "%.1f MiB", v / 1024 }'; }
echo "- whole server idle < 8 MiB: RSS sum $(kib "$G_IDLE_RSS") $(verdict "$G_IDLE_RSS" "<" 8192), PSS sum $(kib "$G_IDLE_PSS") $(verdict "$G_IDLE_PSS" "<" 8192)"
echo "- whole server at c = 128 < 32 MiB: RSS sum $(kib "$G_LOAD_RSS") $(verdict "$G_LOAD_RSS" "<" 32768), PSS sum $(kib "$G_LOAD_PSS") $(verdict "$G_LOAD_PSS" "<" 32768)"
if [ -n "${B_IDLE_RSS:-}" ]; then
	bmax=$B_IDLE_RSS; [ -n "${B_LOAD_RSS:-}" ] && [ "$B_LOAD_RSS" -gt "$bmax" ] && bmax=$B_LOAD_RSS
	bpmax=$B_IDLE_PSS; [ -n "${B_LOAD_PSS:-}" ] && [ "$B_LOAD_PSS" -gt "$bpmax" ] && bpmax=$B_LOAD_PSS
	echo "- $(num "$POSTS") posts < 64 MiB (idle and under load, the larger): RSS sum $(kib "$bmax") $(verdict "$bmax" "<" 65536), PSS sum $(kib "$bpmax") $(verdict "$bpmax" "<" 65536)"
fi
echo
# Issue 15: a lead over molly-brown, same run, on every row.
echo "### Targets of issue 15 (gazette ÷ molly-brown, this run)"
echo
if [ "$MOLLY" = 1 ]; then
	# MB/s per server core: each run's MB/s over its server CPU share, median.
	mb_core() { local f; for f in "$S"/res/"$1".*.json; do
		awk -v a="$(jget "$f" mbps)" -v b="$(jget "$f" server_cpu_share)" 'BEGIN { if (a != "" && b > 0) print a / b }'
	done | median; }
	for row in "1k-full-16 full handshakes, c = 16" "1k-full-128 full handshakes, c = 128" \
	    "1k-resume-16 resumed handshakes, c = 16" "1k-resume-128 resumed handshakes, c = 128"; do
		id=${row%% *} g=${V[${row%% *}.gazette.server_rps_per_core]:-} m=${V[${row%% *}.molly.server_rps_per_core]:-}
		r=$(awk -v a="$g" -v b="$m" 'BEGIN { if (a != "" && b > 0) print a / b }')
		echo "- ${row#* }, 1 KiB file: $(num "$g") vs $(num "$m") per server core-s, ratio $(ratio "$g" "$m"), target ≥ 1.5x: $(verdict "$r" ">=" 1.5)"
	done
	g=$(mb_core big-full-4.gazette) m=$(mb_core big-full-4.molly)
	r=$(awk -v a="$g" -v b="$m" 'BEGIN { if (a != "" && b > 0) print a / b }')
	echo "- 10 MiB file, c = 4: $(num "$g") vs $(num "$m") MB/s per server core, ratio $(ratio "$g" "$m"), target ≥ 1.5x: $(verdict "$r" ">=" 1.5)"
	echo "- idle, one worker: RSS sum $(kib "$G_IDLE_RSS") (target ≤ 8 MiB: $(verdict "$G_IDLE_RSS" "<" 8193)), PSS sum $(kib "$G_IDLE_PSS") vs molly-brown's $(kib "$M_IDLE_PSS") (target ≤: $(verdict "$G_IDLE_PSS" "<" "$((M_IDLE_PSS + 1))"))"
	gp=$(for id in home-full-128 home-resume-128 1k-full-128 1k-resume-128; do echo "${V[$id.gazette.p99_ms]:-}"; done | maximum)
	mp=$(for id in home-full-128 home-resume-128 1k-full-128 1k-resume-128; do echo "${V[$id.molly.p99_ms]:-}"; done | maximum)
	echo "- p99 at c = 128 (worst of the rows both ran): $(num "$gp" 2) ms vs $(num "$mp" 2) ms, target below: $(verdict "$gp" "<" "$mp")"
else
	echo "- not measured: molly-brown was left out ($MOLLY_NOTE)"
fi
if [ -n "${B_IDLE_RSS:-}" ]; then
	x=$(awk -v a="${B_TWO_PSS:-}" -v b="${B_ONE_PSS:-}" 'BEGIN { if (a != "" && b != "") print a - b }')
	echo "- $(num "$POSTS") posts, a second worker adds to the PSS sum (each after searches): $(kib "$x") ($(kib "${B_ONE_PSS:-}") with one, $(kib "${B_TWO_PSS:-}") with two), target < 5 MiB: $(verdict "$x" "<" 5120)"
	echo "- $(num "$POSTS") posts, start-up scan, target < 500 ms: first start $(num "${B_SCAN:-}") ms, $(verdict "${B_SCAN:-}" "<" 500); a restart from the saved index $(num "${B_SCAN_AGAIN:-}") ms, $(verdict "${B_SCAN_AGAIN:-}" "<" 500)"
fi
x=$(for f in "$S"/res/gbig-plain-4.gazette.*.json; do
	awk -v a="$(jget "$f" mbps)" -v b="$(jget "$f" server_cpu_share)" 'BEGIN { if (a != "" && b > 0) print a / b }'
done | median)
echo "- 10 MiB file over plain Gopher (sendfile), c = 4: $(num "$x") MB/s per server core (molly-brown serves no Gopher; for scale, the same file over Gemini above)"
echo
if [ -n "$AB_OUT" ]; then
	echo "### archive-bench ($(num "$POSTS") posts)"
	echo
	printf '%s\n' "$AB_OUT" | grep -v '^kept '
fi

exec 1>&3 3>&-
cat "$report"
mkdir -p "$build"
cp "$report" "$build/bench-report.md"
rm -rf "$build/bench-raw" && cp -r "$S/res" "$build/bench-raw"
say "bench: report in $BUILD/bench-report.md, raw results in $BUILD/bench-raw/"
