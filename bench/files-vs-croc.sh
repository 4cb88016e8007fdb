#!/usr/bin/env bash
# Side by side: one file between two processes on loopback TCP, sent by
#   raw     one go-libp2p stream (bench/rawstream: a node's TCP, TLS 1.3, yamux;
#           nothing of Parley's on top, the receiver discards): the floor
#   croc    croc v11.2.2 built from ../shared/peers (a benchmark peer, never a
#           dependency), run exactly as ../shared/peers/README.md says
#   parley  two `parley run` nodes, contacts, the receiver auto-accepting
# and with -q on QUIC as well:
#   rawq    bench/rawstream's stream over QUIC (its own TLS 1.3 and streams)
#   parleyq two more nodes listening on QUIC only
# timed from the sending command's start to the receiver holding the file
# complete (raw: the receiver has read every byte), in interleaved rounds.
# Prints every round, the medians, and Parley's ratios to both.
#
# Everything runs inside a network namespace holding only loopback (croc
# resolves its public relay's name and multicasts otherwise), so it needs
# root (ip netns).
#
#   bench/files-vs-croc.sh [-s SIZE] [-r ROUNDS] [-p PROFDIR] [-q] [-k]
#     -s SIZE    file size for head -c (default 1G; e.g. 64M for a quick run)
#     -r ROUNDS  interleaved rounds (default 3)
#     -p DIR     also write CPU profiles of both Parley nodes (whole run) to DIR
#     -q         also run raw QUIC and Parley on QUIC
#     -k         keep the temporary directory
# Environment: PEERS (default /work/shared/peers), TMPDIR (on a real disk:
# receivers write there; tmpfs would not be comparable).
set -euo pipefail

size=1G rounds=3 profdir="" keep=0 quic=0
while getopts "s:r:p:qk" opt; do
	case $opt in
	s) size=$OPTARG ;;
	r) rounds=$OPTARG ;;
	p) profdir=$(realpath -m "$OPTARG") ;;
	q) quic=1 ;;
	k) keep=1 ;;
	*) sed -n '2,26p' "$0" >&2; exit 2 ;;
	esac
done
repo=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS:-/work/shared/peers}
[ "$(id -u)" = 0 ] || { echo "needs root, for ip netns" >&2; exit 1; }

tmp=$(mktemp -d -t parley-files-vs-croc.XXXXXX)
ns=parleybench$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	if [ "$keep" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
inns() { ip netns exec "$ns" "$@"; }

echo "# building (in $tmp)" >&2
tar -xzf "$peers/croc-v11.2.2.tar.gz" -C "$tmp"
(cd "$tmp/croc-11.2.2" && go build -o "$tmp/croc" .)
(cd "$repo" && go build -o "$tmp/parley" ./cmd/parley && go build -o "$tmp/rawstream" ./bench/rawstream)

head -c "$size" /dev/urandom >"$tmp/payload.bin"
bytes=$(stat -c %s "$tmp/payload.bin")

ip netns add "$ns"
ip -n "$ns" link set lo up

# raw: one receiver for every round.
mkfifo "$tmp/raw.in"
ip netns exec "$ns" "$tmp/rawstream" recv <"$tmp/raw.in" >"$tmp/raw.out" 2>&1 &
pids+=($!)
exec 9>"$tmp/raw.in" # held open: the receiver runs until the script ends
for _ in $(seq 100); do [ -s "$tmp/raw.out" ] && break; sleep 0.1; done
for _ in $(seq 100); do [ "$(wc -l <"$tmp/raw.out")" -ge 2 ] && break; sleep 0.1; done
rawaddr=$(sed -n 1p "$tmp/raw.out") rawqaddr=$(sed -n 2p "$tmp/raw.out")

# croc: its own relay, as the README says.
ip netns exec "$ns" "$tmp/croc" --ignore-stdin relay --host 127.0.0.1 --ports 9009,9010,9011,9012,9013 >"$tmp/relay.log" 2>&1 &
pids+=($!)

# parley: two nodes, contacts of each other; bob fetches files of up to
# 2 GiB without asking.
pl() { inns "$tmp/parley" "$@"; }
startnode() { # name dir [profile [listen]]
	local extra=()
	[ -n "${3:-}" ] && extra=(--cpu-profile "$3")
	# Not through pl: $! must be the node itself (its RSS, its profile).
	ip netns exec "$ns" "$tmp/parley" run --data "$2" --no-mdns --name "$1" --listen "${4:-/ip4/127.0.0.1/tcp/0}" "${extra[@]}" >"$2.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 300); do grep -q "Peer ID: " "$2.log" 2>/dev/null && return; sleep 0.1; done
	echo "$1 did not start:" >&2; cat "$2.log" >&2; exit 1
}
[ -n "$profdir" ] && mkdir -p "$profdir"
startnode alice "$tmp/alice" "${profdir:+$profdir/sender.pprof}"
alicepid=${pids[-1]}
startnode bob "$tmp/bob" "${profdir:+$profdir/receiver.pprof}"
bobpid=${pids[-1]}
invite() { pl id --data "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["invite"])'; }
pl contact add --data "$tmp/alice" "$(invite "$tmp/bob")" --name bob >/dev/null
pl contact add --data "$tmp/bob" "$(invite "$tmp/alice")" --name alice >/dev/null
pl settings --data "$tmp/bob" --auto-accept 2GB >/dev/null
if [ "$quic" = 1 ]; then
	quicaddr=/ip4/127.0.0.1/udp/0/quic-v1
	startnode aliceq "$tmp/aliceq" "${profdir:+$profdir/sender-quic.pprof}" $quicaddr
	aliceqpid=${pids[-1]}
	startnode bobq "$tmp/bobq" "${profdir:+$profdir/receiver-quic.pprof}" $quicaddr
	bobqpid=${pids[-1]}
	pl contact add --data "$tmp/aliceq" "$(invite "$tmp/bobq")" --name bobq >/dev/null
	pl contact add --data "$tmp/bobq" "$(invite "$tmp/aliceq")" --name aliceq >/dev/null
	pl settings --data "$tmp/bobq" --auto-accept 2GB >/dev/null
fi

now() { date +%s.%N; }

run_raw() { # [address]
	local t0 t1
	t0=$(now)
	inns "$tmp/rawstream" send "${1:-$rawaddr}" "$tmp/payload.bin" >/dev/null
	t1=$(now)
	echo "$t1 - $t0" | bc
}

run_croc() {
	local t0 t1 code=bench$RANDOM$RANDOM out=$tmp/croc-out sender
	rm -rf "$out" && mkdir -p "$out"
	t0=$(now)
	CROC_SECRET=$code inns "$tmp/croc" --relay 127.0.0.1:9009 --yes --disable-clipboard --ignore-stdin \
		send --no-local "$tmp/payload.bin" >"$tmp/croc-send.log" 2>&1 &
	sender=$!
	CROC_SECRET=$code inns "$tmp/croc" --relay 127.0.0.1:9009 --ip 127.0.0.1:9009 --yes --overwrite \
		--ignore-stdin --out "$out" >"$tmp/croc-recv.log" 2>&1
	t1=$(now)
	wait "$sender"
	cmp -s "$out/payload.bin" "$tmp/payload.bin" || { echo "croc: received file differs" >&2; exit 1; }
	rm -rf "$out"
	echo "$t1 - $t0" | bc
}

run_rawq() { run_raw "$rawqaddr"; }

run_parley() { # [suffix: q for the QUIC pair]
	local t0 t1 id path q=${1:-}
	t0=$(now)
	id=$(pl file send --data "$tmp/alice$q" "bob$q" "$tmp/payload.bin" --no-wait --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
	# file get waits (on the node's events) until the file is complete.
	path=$(pl file get --data "$tmp/bob$q" "$id" --json | python3 -c 'import json,sys
f = json.load(sys.stdin)
assert f["state"] == "complete", f
print(f["path"])')
	t1=$(now)
	cmp -s "$path" "$tmp/payload.bin" || { echo "parley: received file differs" >&2; exit 1; }
	rm -f "$path"
	echo "$t1 - $t0" | bc
}

run_parleyq() { run_parley q; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mbps() { echo "scale=0; $bytes / $1 / 1000000" | bc; }

echo "# $bytes bytes, $rounds rounds; load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores" >&2
printf '%-6s %-7s %9s %8s\n' round tool seconds MB/s
order=(raw croc parley)
[ "$quic" = 1 ] && order+=(rawq parleyq)
for r in $(seq "$rounds"); do
	for tool in "${order[@]}"; do
		s=$(run_"$tool")
		echo "$s" >>"$tmp/times.$tool"
		printf '%-6s %-7s %9.3f %8s\n' "$r" "$tool" "$s" "$(mbps "$s")"
	done
	order=("${order[@]:1}" "${order[0]}") # rotate: no tool always first
done

raw=$(median <"$tmp/times.raw") croc=$(median <"$tmp/times.croc") parley=$(median <"$tmp/times.parley")
echo
echo "medians: raw $(mbps "$raw") MB/s, croc $(mbps "$croc") MB/s, parley $(mbps "$parley") MB/s"
echo "parley / croc: $(echo "scale=2; $croc / $parley" | bc)x   parley / raw: $(echo "scale=2; $raw / $parley" | bc)x"
hwm() { awk '/VmHWM/ {print $2/1024 " MiB"}' "/proc/$1/status" 2>/dev/null || echo ?; }
echo "peak RSS: alice $(hwm $alicepid), bob $(hwm $bobpid)"
if [ "$quic" = 1 ]; then
	rawq=$(median <"$tmp/times.rawq") parleyq=$(median <"$tmp/times.parleyq")
	echo "QUIC medians: raw $(mbps "$rawq") MB/s, parley $(mbps "$parleyq") MB/s; parley / raw QUIC: $(echo "scale=2; $rawq / $parleyq" | bc)x"
	echo "peak RSS on QUIC: alice $(hwm $aliceqpid), bob $(hwm $bobqpid)"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$profdir" ]; then
	# The profiles are written when the nodes stop.
	kill "$alicepid" "$bobpid" ${aliceqpid:-} ${bobqpid:-}
	wait "$alicepid" "$bobpid" ${aliceqpid:-} ${bobqpid:-} 2>/dev/null || true
	echo "profiles: $profdir/sender*.pprof $profdir/receiver*.pprof (go tool pprof -top $profdir/parley FILE)"
	cp "$tmp/parley" "$profdir/parley"
fi
