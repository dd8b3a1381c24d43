#!/usr/bin/env bash
# bench/smtp-source.sh: SMTP receive throughput of fakesmtp against
# Postfix's smtp-sink, in the same run, both driven by Postfix's
# smtp-source over 127.0.0.1. Method and figures: bench/README.md.
#
#   bash bench/smtp-source.sh            # as root, on Debian 12
#
# Peers (one at a time; every cell is run REPS times, interleaved):
#   fakesmtp-fsync    fakesmtp, store on, fsync on (the default: 250 = on disk)
#   smtp-sink         Postfix smtp-sink: reads and discards (the no-op bound)
#   fakesmtp-nofsync  fakesmtp, store on, --fsync=false (context)
#   smtp-sink-d       smtp-sink -d: one file per message, no fsync (context)
#   postfix           Postfix itself, a private instance (own configuration
#                     and queue under the run's folder, port 2527) that puts
#                     every message on hold: its cleanup fsyncs each queue
#                     file before the 250 and nothing is delivered. The
#                     durable peer: the same promise as fakesmtp-fsync.
# and, only when named in PEERS:
#   fakesmtp-fsync-index  as fakesmtp-fsync with dev mode's index, web UI and
#                     transcripts on (the fakesmtp-* rows above turn them off
#                     with RECEIVE_ONLY, to measure receiving and storing)
#   base-fsync, base-nofsync  as fakesmtp-fsync/-nofsync, built from BASE_REV:
#                     a before/after comparison within one interleaved run
#
# Settings come from the environment (defaults in brackets):
#   PEERS [all four]  REPS [3]  SESSIONS [20]  SIZE [2048]  WARMUP [2000]
#   TARGET_SECONDS [25]: each timed run is sized for about this long, from
#     a pilot of PILOT [20000] messages per peer; MESSAGES fixes the count
#     instead. MIN_MESSAGES [20000] and MAX_MESSAGES [800000] clamp it.
#   RUN_TIMEOUT [150]: seconds allowed to one smtp-source run. With the
#     fixed-length calibration this bounds the whole script (typically
#     10-12 minutes, plus up to 6 minutes' wait after a previous run).
#   PROBE_SECONDS [5]: length of each disk calibration run.
#   CLEAN_EACH [0]: 1 deletes each run's files right after it and then
#     rests SETTLE [65] seconds; by default every run gets a new, empty
#     folder and all are deleted at the end (see README: ext4 without a
#     journal makes file creation slow for a minute after mass deletion).
#   REV [empty]: build fakesmtp from this git revision (git archive, with
#     the working tree's bench/ laid over it) instead of the working tree.
#   BASE_REV [empty]: also build fakesmtp from this revision, for the base-*
#     peers (it must know the RECEIVE_ONLY flags, or set RECEIVE_ONLY).
#   BENCH_DIR [new folder under /var/tmp]: scratch space (spools, logs);
#     removed at the end unless KEEP=1.  RESULTS: also append the Go
#     benchmark lines to this file (for benchstat).
#
# It installs Postfix (for smtp-source and smtp-sink, without configuring
# or starting the daemon), fio and jq from Debian when they are missing.
# It is not run in CI.
set -euo pipefail

PEERS=${PEERS:-"fakesmtp-fsync smtp-sink fakesmtp-nofsync smtp-sink-d postfix"}
REPS=${REPS:-3}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-2048}
WARMUP=${WARMUP:-2000}
PILOT=${PILOT:-20000}
TARGET_SECONDS=${TARGET_SECONDS:-25}
MESSAGES=${MESSAGES:-}
MIN_MESSAGES=${MIN_MESSAGES:-20000}
MAX_MESSAGES=${MAX_MESSAGES:-800000}
RUN_TIMEOUT=${RUN_TIMEOUT:-150}
PROBE_SECONDS=${PROBE_SECONDS:-5}
CLEAN_EACH=${CLEAN_EACH:-0}
SETTLE=${SETTLE:-65}
KEEP=${KEEP:-0}
RESULTS=${RESULTS:-}
REV=${REV:-}
BASE_REV=${BASE_REV:-}
# RECEIVE_ONLY: the flags that keep the fakesmtp-fsync/-nofsync rows to the
# receive path (SMTP and the store): dev mode also indexes every message
# in SQLite, serves the web UI and records transcripts, all after the 250
# but on the same cores. fakesmtp-fsync-index runs without them.
RECEIVE_ONLY=${RECEIVE_ONLY:-"--index=false --transcript=false --http-listen="}

# Ports: fakesmtp on 2525 (its dev default), smtp-sink on 2526, Postfix
# on 2527.
FAKESMTP_PORT=2525
SINK_PORT=2526
POSTFIX_PORT=2527
# The same envelope for every run, so no peer depends on the host name.
ENVELOPE=(-M client.example.test -f bench@example.test -t rcpt@example.test)
HZ=$(getconf CLK_TCK)
# CLEANED_STAMP holds when the last run finished deleting its files; see
# settle_after_cleanup.
CLEANED_STAMP=/var/tmp/fakesmtp-bench.cleaned
# RECENTCY is how long ext4 without a journal keeps skipping freed inodes
# (fs/ext4/ialloc.c: RECENTCY_MIN 60 s + RECENTCY_DIRTY 300 s).
RECENTCY=360
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '# %s %s\n' "$(date +%T)" "$*" >&2; }
die() {
	printf 'smtp-source.sh: %s\n' "$*" >&2
	exit 1
}

# --- processes and cleanup -------------------------------------------------

PEER_PID=""
GEN_PID=""
cleanup() {
	local rc=$?
	local p
	if [[ -n ${BENCH_DIR:-} && -s $BENCH_DIR/gen.pid ]]; then
		p=$(cat "$BENCH_DIR/gen.pid")
		kill -TERM "$p" 2>/dev/null || true
	fi
	for p in $GEN_PID $PEER_PID; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $GEN_PID $PEER_PID; do
		wait "$p" 2>/dev/null || true
	done
	if [[ -n ${BENCH_DIR:-} && -d $BENCH_DIR && $KEEP != 1 ]]; then
		say "deleting $BENCH_DIR"
		rm -rf "$BENCH_DIR"
		date +%s >"$CLEANED_STAMP" 2>/dev/null || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -----------------------------------------------------------------

# apt_install installs Debian packages without prompts; it refreshes the
# package lists only if the first attempt fails.
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "$@" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}

ensure_tools() {
	[[ $EUID -eq 0 ]] || die "run as root (smtp-sink drops to nobody; packages may need installing)"
	if [[ ! -x /usr/sbin/smtp-source || ! -x /usr/sbin/smtp-sink ]]; then
		say "installing postfix for smtp-source/smtp-sink (no configuration, daemon not started)"
		echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
		apt_install postfix || die "cannot install postfix"
	fi
	if ! command -v fio >/dev/null || ! command -v jq >/dev/null; then
		say "installing fio and jq for the disk calibration"
		apt_install fio jq || say "fio/jq not installed; using the Go fsync loop only"
	fi
	command -v go >/dev/null || die "go is needed to build fakesmtp"
	for port in $FAKESMTP_PORT $SINK_PORT $POSTFIX_PORT; do
		if ss -Hltn "( sport = :$port )" | grep -q .; then
			die "port $port is in use; stop whatever listens there first"
		fi
	done
}

# --- /proc readings ----------------------------------------------------------

# cpu_ticks prints a process's utime+stime (all threads) in clock ticks:
# fields 14 and 15 of /proc/PID/stat, counted after "(comm)", which may
# contain spaces.
cpu_ticks() {
	local line
	read -r line <"/proc/$1/stat"
	local -a f
	read -r -a f <<<"${line##*) }"
	echo $((f[11] + f[12]))
}
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# POSTFIX_CONF is the configuration folder of the running Postfix peer;
# empty for the single-process peers.
POSTFIX_CONF=""

# peer_ticks prints the peer's CPU in clock ticks. Postfix is a master and
# its children (smtpd, cleanup, trivial-rewrite, ...): the master's own
# time, its reaped children's (cutime+cstime), and its live children's.
peer_ticks() {
	if [[ -z $POSTFIX_CONF ]]; then
		cpu_ticks "$PEER_PID"
		return
	fi
	local line sum=0 c
	read -r line <"/proc/$PEER_PID/stat"
	local -a f
	read -r -a f <<<"${line##*) }"
	sum=$((f[11] + f[12] + f[13] + f[14]))
	for c in $(pgrep -P "$PEER_PID"); do
		sum=$((sum + $(cpu_ticks "$c" 2>/dev/null || echo 0)))
	done
	echo "$sum"
}

# peer_kib KEY prints a /proc status figure of the peer: for Postfix, the
# sum over the master and its live children (for VmHWM that is the sum of
# each process's own peak), and for Threads the number of processes.
peer_kib() {
	if [[ -z $POSTFIX_CONF ]]; then
		status_kib "$PEER_PID" "$1"
		return
	fi
	local p sum=0 n=0 v
	for p in "$PEER_PID" $(pgrep -P "$PEER_PID"); do
		v=$(status_kib "$p" "$1" 2>/dev/null) || continue
		sum=$((sum + ${v:-0}))
		n=$((n + 1))
	done
	if [[ $1 == Threads ]]; then echo "$n"; else echo "$sum"; fi
}

# start_postfix DIR: a private Postfix instance under DIR, listening on
# 127.0.0.1:POSTFIX_PORT; sets PEER_PID to its master. It takes the
# installed master.cf with the smtp listener moved to that port and
# chroot off (the chroot would need copies of /etc files), and a main.cf
# that holds every message: accepted, written and fsynced by cleanup
# into the hold queue, never delivered.
start_postfix() {
	local dir=$1 conf=$1/conf
	mkdir -p "$conf" "$dir/queue" "$dir/data"
	chmod 755 "$dir"
	chown postfix "$dir/data"
	sed -E 's/^smtp( +)inet( +)n( +)-( +)[yn]/127.0.0.1:'"$POSTFIX_PORT"' inet n - n/; s/^([a-z]+ +unix +[-n] +[-n] +)y/\1n/' \
		/etc/postfix/master.cf >"$conf/master.cf"
	cat >"$conf/main.cf" <<-EOF
		compatibility_level = 3.6
		queue_directory = $dir/queue
		data_directory = $dir/data
		mail_owner = postfix
		setgid_group = postdrop
		myhostname = bench.fakesmtp.test
		mydestination =
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		smtpd_peername_lookup = no
		smtpd_client_restrictions = check_client_access static:HOLD
		maillog_file_prefixes = $dir
		maillog_file = $dir/maillog
	EOF
	postfix -c "$conf" set-permissions >/dev/null 2>&1 || die "postfix set-permissions failed"
	postfix -c "$conf" start >"$dir/stdout" 2>"$dir/stderr" || die "postfix start: $(cat "$dir/stderr")"
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $dir/queue/pid/master.pid ]] && break
		sleep 0.1
	done
	PEER_PID=$(tr -d ' ' <"$dir/queue/pid/master.pid")
	POSTFIX_CONF=$conf
}
# busy_ticks: all CPUs' non-idle time, to see what else ran during a run.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# --- peers -------------------------------------------------------------------

# start_peer PEER DIR: starts PEER with its files under DIR, sets PEER_PID,
# PORT and STORE (the folder whose files are counted; empty for none).
start_peer() {
	local peer=$1 dir=$2
	mkdir -p "$dir"
	case $peer in
	fakesmtp-fsync | fakesmtp-nofsync | fakesmtp-fsync-index | base-fsync | base-nofsync)
		local fsync=true bin=$BENCH_DIR/fakesmtp
		[[ $peer == *-nofsync ]] && fsync=false
		if [[ $peer == base-* ]]; then
			[[ -n $BASE_REV ]] || die "$peer needs BASE_REV"
			bin=$BENCH_DIR/fakesmtp-base
		fi
		local -a only=()
		if [[ $peer == fakesmtp-fsync-index ]]; then
			only=(--http-listen=127.0.0.1:0) # on, but never in another's way
		else
			read -r -a only <<<"$RECEIVE_ONLY"
		fi
		PORT=$FAKESMTP_PORT STORE=$dir/spool
		# Logging goes to files (a new folder per run), never the terminal.
		"$bin" serve --mode dev --listen "127.0.0.1:$PORT" \
			--store-path "$STORE" --fsync="$fsync" --verbose-logging=false \
			--max-sessions 200 --log-path "$dir/logs" "${only[@]}" \
			>"$dir/stdout" 2>"$dir/stderr" &
		;;
	postfix)
		PORT=$POSTFIX_PORT STORE=$dir/queue/hold
		start_postfix "$dir"
		;;
	smtp-sink | smtp-sink-d)
		PORT=$SINK_PORT STORE=""
		local -a dump=()
		if [[ $peer == smtp-sink-d ]]; then
			# One folder, as fakesmtp's spool; smtp-sink runs as nobody.
			STORE=$dir/dump
			install -d -o nobody "$STORE"
			dump=(-d "$STORE/m.")
		fi
		smtp-sink -u nobody -m 1000 -t 900 "${dump[@]}" "127.0.0.1:$PORT" 4096 \
			>"$dir/stdout" 2>"$dir/stderr" &
		;;
	*) die "unknown peer $peer" ;;
	esac
	[[ $peer == postfix ]] || PEER_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$PEER_PID" 2>/dev/null || die "$peer exited at start: $(cat "$dir/stderr" "$dir/stdout")"
		ss -Hltn "( sport = :$PORT )" | grep -q . && return 0
		sleep 0.1
	done
	die "$peer is not listening on $PORT after 10 s"
}

stop_peer() {
	[[ -n $PEER_PID ]] || return 0
	kill -TERM "$PEER_PID" 2>/dev/null || true
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$PEER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PEER_PID" 2>/dev/null || true
	wait "$PEER_PID" 2>/dev/null || true
	PEER_PID=""
	POSTFIX_CONF=""
}

stored_count() {
	if [[ -z $STORE ]]; then
		echo -
	elif [[ $STORE == */spool ]]; then
		find "$STORE" -maxdepth 1 -type f -name '*.eml' | wc -l
	else
		find "$STORE" -type f | wc -l
	fi
}

# generate N OUT: runs smtp-source for N messages against PORT, bounded by
# RUN_TIMEOUT, and sets GEN_RC, GEN_SECS (wall) and GEN_TICKS (its CPU).
# It runs in the background and is waited for, so that a signal reaches
# the trap at once; cleanup stops it through the pid of timeout(1), which
# passes the signal on to smtp-source.
generate() {
	local n=$1 out=$2 t0 t1
	t0=$EPOCHREALTIME
	(
		set +e
		timeout "$RUN_TIMEOUT" smtp-source -d -s "$SESSIONS" -l "$SIZE" -m "$n" "${ENVELOPE[@]}" \
			"127.0.0.1:$PORT" >"$out" 2>&1 &
		echo $! >"$BENCH_DIR/gen.pid"
		wait $!
		rc=$?
		# This subshell's children's CPU (cutime+cstime, fields 16 and
		# 17 of its stat) is smtp-source's, now that it has been reaped.
		read -r stat </proc/$BASHPID/stat
		read -r -a f <<<"${stat##*) }"
		echo "$rc $((f[13] + f[14]))" >"$out.rc"
	) &
	GEN_PID=$!
	wait "$GEN_PID" || true
	GEN_PID=""
	t1=$EPOCHREALTIME
	rm -f "$BENCH_DIR/gen.pid"
	read -r GEN_RC GEN_TICKS <"$out.rc"
	GEN_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
}

# nojournal_ext4 DIR: true when DIR is on ext4 mounted without a journal.
nojournal_ext4() {
	local src
	src=$(findmnt -no SOURCE -T "$1")
	[[ $(findmnt -no FSTYPE -T "$1") == ext4 && ! -e /proc/fs/jbd2/$(basename "$src")-8 ]]
}

# settle_after_cleanup waits, on ext4 without a journal, until the files
# deleted at the end of the previous run of this script no longer slow
# down file creation (each creation scans past every recently freed inode
# of its block group; it cost smtp-sink -d four times its CPU here).
settle_after_cleanup() {
	nojournal_ext4 "$1" || return 0
	[[ -s $CLEANED_STAMP ]] || return 0
	local wait=$(($(cat "$CLEANED_STAMP") + RECENTCY - $(date +%s)))
	if ((wait > 0)); then
		say "the previous run deleted its files $((RECENTCY - wait)) s ago; waiting $wait s for ext4 (no journal) to settle"
		sleep "$wait"
	fi
}

# --- disk calibration ----------------------------------------------------------

calibrate_disk() {
	local d=$BENCH_DIR/calib
	mkdir -p "$d"
	local src fstype dev
	src=$(findmnt -no SOURCE -T "$BENCH_DIR")
	fstype=$(findmnt -no FSTYPE -T "$BENCH_DIR")
	dev=$(basename "$src")
	echo "## Disk: fsync cost under $BENCH_DIR ($src, $fstype, $(findmnt -no OPTIONS -T "$BENCH_DIR"))"
	echo
	if [[ -r /sys/block/$dev/queue/write_cache ]]; then
		echo "- device write cache: $(cat "/sys/block/$dev/queue/write_cache")"
	fi
	if nojournal_ext4 "$BENCH_DIR"; then
		# No jbd2 journal: fsync then writes the inode, the file's blocks
		# and (for a new file) its parent folder's blocks itself, and
		# concurrent fsyncs are not merged into one journal commit.
		echo "- this ext4 runs WITHOUT a journal (no /proc/fs/jbd2/$dev-8)"
	fi
	if command -v fio >/dev/null && command -v jq >/dev/null; then
		local jobs
		for jobs in 1 $SESSIONS; do
			fio --name="fsync$jobs" --directory="$d" --size=$((64 / jobs + 4))m --bs=4k --rw=write \
				--ioengine=sync --fsync=1 --runtime="$PROBE_SECONDS" --time_based --numjobs="$jobs" \
				--group_reporting --output-format=json >"$d/fio$jobs.json" 2>/dev/null
			jq -r --arg j "$jobs" '.jobs[0] | "- fio, 4 KiB write + fsync, \($j) job(s): \(.write.iops | floor) fsync/s, fsync p50 \(.sync.lat_ns.percentile["50.000000"] / 1000 | floor) us, p99 \(.sync.lat_ns.percentile["99.000000"] / 1000 | floor) us"' "$d/fio$jobs.json"
			rm -f "$d"/fsync*
		done
	else
		printf -- '- '
		"$BENCH_DIR/storeprobe" -mode raw -dir "$d" -duration "${PROBE_SECONDS}s"
	fi
	# fakesmtp's own store, without SMTP: the ceiling the disk sets.
	echo
	echo "fakesmtp's internal/store alone, no SMTP (Put of a ${SIZE}-byte message; ns/op = wall time per message):"
	echo
	local w f
	for f in true false; do
		for w in 1 "$SESSIONS"; do
			# A new folder each time; all are deleted at the end (see
			# run_cell for why not now).
			"$BENCH_DIR/storeprobe" -mode store -dir "$d/store-$f-$w" -duration "${PROBE_SECONDS}s" \
				-workers "$w" -fsync="$f" -size "$SIZE"
			sync
		done
	done
	echo
}

# --- one cell ------------------------------------------------------------------

# run_cell PEER REP N: a fresh peer, WARMUP untimed messages, then N timed
# ones; appends a row to RUNS. REP 0 is the sizing pilot (no row).
run_cell() {
	local peer=$1 rep=$2 n=$3 dir=$BENCH_DIR/runs/$2-$1
	start_peer "$peer" "$dir"
	generate "$WARMUP" "$dir/warmup.out"
	[[ $GEN_RC == 0 ]] || die "$peer: warm-up smtp-source exited $GEN_RC: $(cat "$dir/warmup.out")"
	sync
	local c0 b0 logs0=0
	[[ -d $dir/logs ]] && logs0=$(du -sb "$dir/logs" | cut -f1)
	c0=$(peer_ticks)
	b0=$(busy_ticks)
	generate "$n" "$dir/timed.out"
	local c1 b1 hwm threads stored logs1=0
	c1=$(peer_ticks)
	b1=$(busy_ticks)
	hwm=$(peer_kib VmHWM)
	threads=$(peer_kib Threads)
	[[ -d $dir/logs ]] && logs1=$(du -sb "$dir/logs" | cut -f1)
	stored=$(stored_count)
	stop_peer
	local leftovers=0
	[[ -d $dir/spool/.tmp ]] && leftovers=$(find "$dir/spool/.tmp" -type f | wc -l)
	[[ -d $dir/queue/incoming ]] && leftovers=$(find "$dir/queue/incoming" "$dir/queue/active" -type f | wc -l)
	local want=$((WARMUP + n)) ok=yes
	[[ $GEN_RC == 0 ]] || ok="no (smtp-source exit $GEN_RC: $(tail -c 200 "$dir/timed.out" | tr '\n' ' '))"
	[[ $stored == - || $stored == "$want" ]] || ok="no (stored $stored of $want)"
	[[ $leftovers == 0 ]] || ok="no ($leftovers files left unfinished in .tmp or the incoming queue)"
	# The files stay until the end (each run has its own folder): on ext4
	# without a journal, every file creation scans past the inodes freed
	# in the last 60 s (300 s while their table block is dirty; see
	# fs/ext4/ialloc.c, recently_deleted), so deleting here would tax the
	# next peer's run. CLEAN_EACH=1 deletes now and waits that out.
	if [[ $CLEAN_EACH == 1 ]]; then
		rm -rf "$dir"
		sync
		sleep "$SETTLE"
	fi
	if [[ $rep == 0 ]]; then
		[[ $ok == yes ]] || die "$peer pilot failed: $ok"
		PILOT_RATE=$(awk -v n="$n" -v s="$GEN_SECS" 'BEGIN { printf "%.0f", n / s }')
		return 0
	fi
	# rep peer messages seconds server-ticks gen-ticks busy-ticks hwm-KiB threads log-bytes ok
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$peer" "$n" "$GEN_SECS" \
		$((c1 - c0)) "$GEN_TICKS" $((b1 - b0)) "$hwm" "$threads" $((logs1 - logs0)) "$ok" >>"$RUNS"
	awk -F'\t' -v hz="$HZ" 'END {
		printf "- rep %d  %-17s %7d msgs %7.2f s %8.0f msgs/s  server %6.1f cpu-us/msg  peak %6.1f MiB  threads %3d  smtp-source %3.0f%% of a core  other load %3.0f%%  ok: %s\n",
			$1, $2, $3, $4, $3 / $4, $5 * 1e6 / hz / $3, $8 / 1024, $9, 100 * $6 / hz / $4,
			max(0, 100 * ($7 - $5 - $6) / hz / $4), $11 }
		function max(a, b) { return a > b ? a : b }' "$RUNS" | tee -a "$BENCH_DIR/runs.txt" >&2
	[[ $ok == yes ]] || die "$peer rep $rep failed the correctness gate: $ok"
}

# --- report --------------------------------------------------------------------

report() {
	local date machine
	date=$(date -u +%Y-%m-%d)
	machine="$(nproc) vCPU $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), $(go version | awk '{ print $3 }'), postfix $(dpkg-query -W -f '${Version}' postfix 2>/dev/null)"
	echo "## Results ($date; $machine)"
	echo
	echo "smtp-source -d -s $SESSIONS -l $SIZE -m <messages>, $REPS runs per peer, interleaved; medians (min-max)."
	echo
	awk -F'\t' -v hz="$HZ" -v peers="$PEERS" -v nreps="$REPS" '
	function median(list,   a, n, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j] + 0 < a[j-1] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	function lo(list,   a, n, i, m) { n = split(list, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
	function hi(list,   a, n, i, m) { n = split(list, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
	{
		rate = $3 / $4
		r[$2] = r[$2] " " rate; byrep[$1, $2] = rate
		cpu[$2] = cpu[$2] " " $5 * 1e6 / hz / $3
		hwm[$2] = hwm[$2] " " $8 / 1024
		gen[$2] = gen[$2] " " 100 * $6 / hz / $4
		other = 100 * ($7 - $5 - $6) / hz / $4
		oth[$2] = oth[$2] " " (other > 0 ? other : 0)
		logb[$2] = logb[$2] " " $10 / $3
		msgs[$2] = $3; ok[$2] = ok[$2] + ($11 == "yes"); n[$2]++
	}
	END {
		desc["fakesmtp-fsync"] = "fakesmtp, store + fsync (durable)"
		desc["smtp-sink"] = "Postfix smtp-sink, discards"
		desc["fakesmtp-nofsync"] = "fakesmtp, store, --fsync=false"
		desc["smtp-sink-d"] = "smtp-sink -d, file per message, no fsync"
		desc["postfix"] = "Postfix, queue file fsynced, held (durable)"
		desc["fakesmtp-fsync-index"] = "fakesmtp-fsync + index, web UI, transcripts"
		desc["base-fsync"] = "fakesmtp-fsync built from BASE_REV"
		desc["base-nofsync"] = "fakesmtp-nofsync built from BASE_REV"
		print "| peer | what it does | messages | msgs/s | server CPU-µs/msg | peak RSS MiB | smtp-source CPU | other CPU | stored = sent |"
		print "|---|---|---:|---:|---:|---:|---:|---:|:---:|"
		np = split(peers, P, " ")
		for (i = 1; i <= np; i++) {
			p = P[i]; if (!(p in n)) continue
			printf "| %s | %s | %d | %.0f (%.0f-%.0f) | %.0f | %.1f | %.0f%% | %.0f%% | %s |\n", p, desc[p], msgs[p],
				median(r[p]), lo(r[p]), hi(r[p]), median(cpu[p]), median(hwm[p]), median(gen[p]), median(oth[p]),
				(p ~ /^smtp-sink$/) ? "n/a" : (ok[p] == n[p] ? "yes" : "NO")
		}
		print ""
		nr = split("fakesmtp-fsync/smtp-sink fakesmtp-nofsync/smtp-sink fakesmtp-fsync/smtp-sink-d fakesmtp-nofsync/smtp-sink-d fakesmtp-fsync/postfix postfix/smtp-sink fakesmtp-fsync-index/smtp-sink fakesmtp-fsync-index/fakesmtp-fsync base-fsync/smtp-sink base-nofsync/smtp-sink fakesmtp-fsync/base-fsync fakesmtp-nofsync/base-nofsync", R, " ")
		for (k = 1; k <= nr; k++) {
			split(R[k], ab, "/"); list = ""
			for (rep = 1; rep <= nreps; rep++) if (((rep, ab[1]) in byrep) && ((rep, ab[2]) in byrep)) list = list sprintf(" %.2f", byrep[rep, ab[1]] / byrep[rep, ab[2]])
			if (list == "") continue
			line = sprintf("ratio %s: %.2f (per run:%s)", R[k], median(list), list)
			line = line sprintf("; server CPU per message %.1fx", median(cpu[ab[1]]) / median(cpu[ab[2]]))
			if (k == 1) line = line sprintf("; target >= 0.50: %s", median(list) >= 0.5 ? "met" : "NOT met")
			print "- " line
		}
		for (i = 1; i <= np; i++) {
			p = P[i]; if (p ~ /^fakesmtp/ && (p in n)) printf "- %s session log: %.0f bytes/msg\n", p, median(logb[p])
		}
	}' "$RUNS"
	echo
	echo "## Go benchmark format (benchstat -col /peer)"
	{
		echo "goos: linux"
		echo "goarch: $(go env GOARCH)"
		echo "pkg: fakesmtp/bench"
		echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
		awk -F'\t' -v hz="$HZ" '{
			printf "BenchmarkSMTP/peer=%s 1 %.0f ns/op %.1f msgs/s %.1f cpu-us/msg %.1f peak-MiB\n",
				$2, $4 * 1e9 / $3, $3 / $4, $5 * 1e6 / hz / $3, $8 / 1024 }' "$RUNS"
	} | tee ${RESULTS:+-a "$RESULTS"}
}

# --- main ------------------------------------------------------------------------

main() {
	ensure_tools
	if [[ -z ${BENCH_DIR:-} ]]; then
		BENCH_DIR=$(mktemp -d /var/tmp/fakesmtp-bench.XXXXXX)
	fi
	mkdir -p "$BENCH_DIR"
	chmod 755 "$BENCH_DIR" # smtp-sink -d writes as nobody below it
	settle_after_cleanup "$BENCH_DIR"
	# Every run's files are kept until the end: about 3.5 M files of 4 KiB
	# blocks at the default sizes on a fast machine.
	local avail_kib avail_inodes
	avail_kib=$(df --output=avail -k "$BENCH_DIR" | tail -1)
	avail_inodes=$(df --output=iavail "$BENCH_DIR" | tail -1)
	((avail_kib > 20 * 1024 * 1024)) || die "need 20 GiB free under $BENCH_DIR"
	((avail_inodes > 5000000)) || die "need 5 M free inodes under $BENCH_DIR"
	RUNS=$BENCH_DIR/runs.tsv
	: >"$RUNS"

	local src=$ROOT version
	if [[ -n $REV ]]; then
		src=$BENCH_DIR/src
		mkdir -p "$src"
		git -C "$ROOT" archive "$REV" | tar -x -C "$src"
		cp -r "$ROOT/bench/." "$src/bench/"
		version="$(git -C "$ROOT" rev-parse --short "$REV") ($REV)"
	else
		version=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
	fi
	say "building fakesmtp $version and the store probe in $BENCH_DIR"
	(cd "$src" && go build -o "$BENCH_DIR/fakesmtp" ./cmd/fakesmtp && go build -o "$BENCH_DIR/storeprobe" ./bench/storeprobe) ||
		die "build failed"
	if [[ -n $BASE_REV ]]; then
		local base=$BENCH_DIR/base-src
		mkdir -p "$base"
		git -C "$ROOT" archive "$BASE_REV" | tar -x -C "$base"
		version="$version, base-* peers $(git -C "$ROOT" rev-parse --short "$BASE_REV") ($BASE_REV)"
		say "building the base-* peers' fakesmtp from $BASE_REV"
		(cd "$base" && go build -o "$BENCH_DIR/fakesmtp-base" ./cmd/fakesmtp) || die "build of $BASE_REV failed"
	fi

	echo "# fakesmtp SMTP benchmark: fakesmtp $version, $(date -u +%FT%TZ)"
	echo
	say "measuring the disk"
	calibrate_disk

	local -A count
	local peer
	for peer in $PEERS; do
		if [[ -n $MESSAGES ]]; then
			count[$peer]=$MESSAGES
			continue
		fi
		say "pilot: $peer, $PILOT messages"
		run_cell "$peer" 0 "$PILOT"
		count[$peer]=$(awk -v r="$PILOT_RATE" -v t="$TARGET_SECONDS" -v lo="$MIN_MESSAGES" -v hi="$MAX_MESSAGES" \
			'BEGIN { n = int(r * t / 1000 + 0.5) * 1000; if (n < lo) n = lo; if (n > hi) n = hi; print n }')
		say "pilot: $peer at $PILOT_RATE msgs/s: ${count[$peer]} messages per run"
	done

	# Interleave: each repetition runs every peer once, starting one peer
	# later than the repetition before, so slow drift (other load, the
	# disk's state) is spread over all peers.
	local -a order
	read -r -a order <<<"$PEERS"
	local rep i np=${#order[@]}
	for ((rep = 1; rep <= REPS; rep++)); do
		for ((i = 0; i < np; i++)); do
			peer=${order[$(((i + rep - 1) % np))]}
			say "rep $rep/$REPS: $peer, ${count[$peer]} messages"
			run_cell "$peer" "$rep" "${count[$peer]}"
		done
	done
	echo
	echo "## Runs"
	echo
	cat "$BENCH_DIR/runs.txt"
	echo
	report
}

main "$@"
