#!/usr/bin/env bash
# Starts P `longnet member` JVMs on 127.0.0.1, runs `longnet attend --cluster` with the paper's levels on N random
# tokens, prints the JSON summary (bytes sent and received per member and level), checks the output against the
# single-machine engine with cmp, and stops the members (SIGTERM).  Usage: loopback.sh P N [HEADS HEAD_DIM [DIR]]
# Example (docs/DISTRIBUTED.md): for p in 2 4 8; do bench/cluster/loopback.sh $p $((8192 * p)) 4 16; done
set -euo pipefail
p=$1 n=$2 heads=${3:-4} dim=${4:-16}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir=${5:-$(mktemp -d /tmp/longnet-cluster.XXXXXX)}
longnet="$root/longnet"
export LONGNET_JAVA_OPTS="${LONGNET_JAVA_OPTS:--Xmx256m}"
levels=(--preset paper)
base=$((15701 + RANDOM % 2000))
list=""
for ((i = 0; i < p; i++)); do list+="${list:+,}127.0.0.1:$((base + i))"; done

"$longnet" gen --n "$n" --heads "$heads" --head-dim "$dim" --out "$dir" --quiet --force >/dev/null
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
for ((i = 0; i < p; i++)); do
  fifo="$dir/member-$i.out"; rm -f "$fifo"; mkfifo "$fifo"
  "$longnet" member --port $((base + i)) --join "$list" --data "$dir" --cluster-name loopback \
    >"$fifo" 2>"$dir/member-$i.log" &
  pids+=($!)
  read -r line <"$fifo"; echo "$line" >&2                  # waits for "... ready ..."
  cat "$fifo" >/dev/null &
done
rm -f "$dir/cluster.npy" "$dir/single.npy"
start=$(date +%s.%N)
"$longnet" attend --q q.npy --k k.npy --v v.npy --out cluster.npy "${levels[@]}" --threads 1 \
  --cluster "$list" --cluster-name loopback --json
end=$(date +%s.%N)
"$longnet" attend --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/single.npy" "${levels[@]}" --quiet >/dev/null
cmp "$dir/single.npy" "$dir/cluster.npy" && echo "P=$p N=$n: equal to the single-machine engine bit for bit ($(echo "$end - $start" | bc) s wall)" >&2
