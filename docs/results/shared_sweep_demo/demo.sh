#!/usr/bin/env bash
# One sweep shared by a chief and worker processes on one machine (run
# from the repository root). Three parts, each in its own directory:
#   two_workers      a chief and two workers do the sweep;
#   killed_worker    one of the two workers is killed (kill -9) in the
#                    middle of its first run; the chief lives;
#   restarted_chief  the chief is killed (kill -9) in the middle of the
#                    sweep and started again, with two new workers,
#                    while the old workers finish the runs they hold.
# Logs and records are copied to docs/results/shared_sweep_demo/PART/.
set -u
A="${ARBNET:-arbnet}"
DEMO=docs/results/shared_sweep_demo
SWEEP="dirichlet --dataset mnist_5k --alpha 0.01 1 --sparsity 0 0.5 --epochs 2 --seeds 2"
export TF_CPP_MIN_LOG_LEVEL=3

port_of() {  # The port a chief printed in its log $1.
  until grep -q "Chief listening on" "$1"; do sleep 0.5; done
  grep -o "Chief listening on 127.0.0.1:[0-9]*" "$1" | grep -o "[0-9]*$"
}

keep() {  # Copies the records and logs of part $1 (out dir $2, logs $3).
  mkdir -p "$DEMO/$1"
  cp "$2/results.jsonl" "$2/sweep.json" "$DEMO/$1/"
  for log in "$3"/*.log; do
    # TensorFlow's and absl's start-up lines say nothing about the sweep.
    grep -v "^I0000\|^W0000\|^WARNING: All log messages" "$log" \
      > "$DEMO/$1/$(basename "$log")"
  done
}

# 1. Two workers.
OUT=runs/shared_demo/two_workers; LOGS=runs/shared_demo/two_workers_logs
rm -rf "$OUT" "$LOGS"; mkdir -p "$LOGS"
start=$(date +%s)
$A sweep $SWEEP --out $OUT --serve --port 0 --workers 2 > $LOGS/chief.log 2>&1 &
PORT=$(port_of $LOGS/chief.log)
$A sweep-worker $OUT --chief 127.0.0.1:$PORT --worker-id w1 > $LOGS/w1.log 2>&1 &
$A sweep-worker $OUT --chief 127.0.0.1:$PORT --worker-id w2 > $LOGS/w2.log 2>&1 &
wait
echo "two_workers: $(( $(date +%s) - start )) s"
keep two_workers $OUT $LOGS

# 2. A worker killed in the middle of its first run; the chief lives and
# hands the run to the other worker once its lease (20 s) has run out.
OUT=runs/shared_demo/killed_worker; LOGS=runs/shared_demo/killed_worker_logs
rm -rf "$OUT" "$LOGS"; mkdir -p "$LOGS"
start=$(date +%s)
$A sweep $SWEEP --out $OUT --serve --port 0 --workers 2 --lease 20 > $LOGS/chief.log 2>&1 &
PORT=$(port_of $LOGS/chief.log)
$A sweep-worker $OUT --chief 127.0.0.1:$PORT --worker-id w1 --heartbeat 5 > $LOGS/w1.log 2>&1 &
W1=$!
$A sweep-worker $OUT --chief 127.0.0.1:$PORT --worker-id w2 --heartbeat 5 > $LOGS/w2.log 2>&1 &
until grep -q "started on worker w1" $LOGS/chief.log; do sleep 0.5; done
sleep 3
kill -9 $W1
echo "killed worker w1 at $(( $(date +%s) - start )) s" | tee $LOGS/kill.log
wait
echo "killed_worker: $(( $(date +%s) - start )) s"
keep killed_worker $OUT $LOGS

# 3. The chief killed once 3 runs are recorded, and started again (same
# command, a new port) with two new workers; the old workers finish the
# runs they hold, record them, and give up on the dead chief after 60 s.
OUT=runs/shared_demo/restarted_chief; LOGS=runs/shared_demo/restarted_chief_logs
rm -rf "$OUT" "$LOGS"; mkdir -p "$LOGS"
start=$(date +%s)
$A sweep $SWEEP --out $OUT --serve --port 0 --workers 2 > $LOGS/chief.log 2>&1 &
CHIEF=$!
PORT=$(port_of $LOGS/chief.log)
$A sweep-worker $OUT --chief 127.0.0.1:$PORT --worker-id w1 --timeout 30 > $LOGS/w1.log 2>&1 &
$A sweep-worker $OUT --chief 127.0.0.1:$PORT --worker-id w2 --timeout 30 > $LOGS/w2.log 2>&1 &
until [ -f $OUT/results.jsonl ] && [ "$(wc -l < $OUT/results.jsonl)" -ge 3 ]; do sleep 0.5; done
kill -9 $CHIEF
echo "killed the chief at $(( $(date +%s) - start )) s with $(wc -l < $OUT/results.jsonl) runs recorded" | tee $LOGS/kill.log
$A sweep $SWEEP --out $OUT --serve --port 0 --workers 2 > $LOGS/chief2.log 2>&1 &
PORT=$(port_of $LOGS/chief2.log)
$A sweep-worker $OUT --chief 127.0.0.1:$PORT --worker-id w3 > $LOGS/w3.log 2>&1 &
$A sweep-worker $OUT --chief 127.0.0.1:$PORT --worker-id w4 > $LOGS/w4.log 2>&1 &
wait
echo "restarted_chief: $(( $(date +%s) - start )) s"
keep restarted_chief $OUT $LOGS

# Every run of the spec recorded exactly once, in each part.
${PYTHON:-python} - <<'EOF'
import collections
import json
import pathlib

from arbnet_keras.experiments import run_key
from arbnet_keras.experiments.expansion import spec_from_dict

for part in ("two_workers", "killed_worker", "restarted_chief"):
    folder = pathlib.Path("docs/results/shared_sweep_demo") / part
    spec = spec_from_dict(json.loads((folder / "sweep.json").read_text()))
    lines = (folder / "results.jsonl").read_text().splitlines()
    counts = collections.Counter(json.loads(l)["key"] for l in lines if l)
    expected = {run_key(config) for config in spec.runs()}
    once = set(counts) == expected and set(counts.values()) == {1}
    print(
        f"{part}: {sum(counts.values())} records of {len(counts)} keys; "
        f"the spec has {len(expected)} runs; each recorded once: {once}"
    )
EOF
grep -h "Runs per worker\\|Serving\\|handing it" $DEMO/*/chief*.log
grep -h "Worker finished\\|another worker recorded\\|error:" $DEMO/*/w*.log
