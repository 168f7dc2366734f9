#!/usr/bin/env bash
# Issue 17's "more offered load must never mean less served", one call (about 4 minutes on an
# H200, budget 330 s): is the 4-camera flood's collapse the node's or the host's? The same
# node, side by side: one camera flat out (reference), four cameras flat out, four cameras
# flat out with the node on cores 0-7 and the publishers on 8-15, and four cameras at 150 Hz
# each (600 offered). Thread CPU use is sampled during the unpinned flood.
#
#   benchmarks/run_overload_gpu.sh OUTDIR [--quick]
#
# Run from the repository root; interpreter and wheels as benchmarks/gpu_env.sh says.
# Reliable, LARGE_DATA on every process, 640x480, random:small fp16 on CUDA (random weights).
set -uo pipefail
usage='benchmarks/run_overload_gpu.sh OUTDIR [--quick]' default_budget_s=330
source benchmarks/gpu_env.sh "$@"
ros_s=6 warmup_s=2
node_cpus=0-7 publisher_cpus=8-15
[[ $mode == --quick ]] && ros_s=2 warmup_s=1 node_cpus=0 publisher_cpus=1
ros=(ros "${engine[@]}" --size "$size" --qos reliable --large-data --duration "$ros_s"
     --warmup-s "$warmup_s" --node-timeout 90 --baseline-iterations 0)

# sample_threads FILE: the busiest threads every 2 s while the flood runs (ps, no extra tools).
sample_threads() {
  for _ in $(seq 12); do
    sleep 2
    { date +%T; ps -eLo pid,tid,pcpu,psr,comm --sort=-pcpu | head -n 25; } >> "$1"
  done
}

bench "ros-0hz-1cam" 40 "${ros[@]}" --rate 0 --cameras 1
sample_threads "$out/threads-0hz-4cams.txt" &
bench "ros-0hz-4cams" 40 "${ros[@]}" --rate 0 --cameras 4
wait
bench "ros-0hz-4cams-pinned" 40 "${ros[@]}" --rate 0 --cameras 4 \
  --node-cpus "$node_cpus" --publisher-cpus "$publisher_cpus"
bench "ros-150hz-4cams" 40 "${ros[@]}" --rate 150 --cameras 4

"$python" - "$out" <<'PY'
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob('ros-*.json')):
    results = json.loads(path.read_text())['results']
    frames, stages = results['frames'], results.get('stages_ms', {})
    print(f"{path.stem:24} {results['throughput_fps']:8.1f} fps  sent {frames['sent']:6}  "
          f"lost {frames['node_lost_in_transport']:6}  dropped {frames['node_dropped']:6}  "
          f"preprocess p50 {stages.get('node_preprocess', {}).get('p50', float('nan')):6.2f} ms"
          f"  latency p50 {results['latency_ms'].get('p50', float('nan')):7.2f} ms")
PY
