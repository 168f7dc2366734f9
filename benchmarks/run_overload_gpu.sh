#!/usr/bin/env bash
# Issue 17's "more offered load must never mean less served" (about 40 s a run on an H200,
# budget 330 s): where does serving four cameras fall over, and is it the node's or the
# host's? The same node, side by side: one camera flat out (reference), four cameras flat
# out, the same with the node on cores 0-7 and the publishers on 8-15, four cameras at 150,
# 300, 600 and 1200 Hz each, and four cameras flat out with 160x120 frames (same GPU work,
# a sixteenth of the bytes).
#
#   [RUNS=...] benchmarks/run_overload_gpu.sh OUTDIR [--quick]
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

# RUNS: which of these to run (default all), e.g. RUNS=4cams-300hz,4cams-0hz-160x120.
runs=${RUNS:-1cam-0hz,4cams-0hz,4cams-0hz-pinned,4cams-150hz,4cams-300hz,4cams-600hz,4cams-1200hz,4cams-0hz-160x120}
wanted() { [[ ,$runs, == *,$1,* ]]; }
wanted 1cam-0hz && bench "ros-0hz-1cam" 40 "${ros[@]}" --rate 0 --cameras 1
wanted 4cams-0hz && bench "ros-0hz-4cams" 40 "${ros[@]}" --rate 0 --cameras 4
wanted 4cams-0hz-pinned && bench "ros-0hz-4cams-pinned" 40 "${ros[@]}" --rate 0 --cameras 4 \
  --node-cpus "$node_cpus" --publisher-cpus "$publisher_cpus"
for rate in 150 300 600 1200; do
  wanted "4cams-${rate}hz" && bench "ros-${rate}hz-4cams" 40 "${ros[@]}" --rate "$rate" --cameras 4
done
# The same flood in a sixteenth of the bytes (the network input, so the GPU work, is alike):
# does the collapse follow the frames or the bytes?
wanted 4cams-0hz-160x120 && bench "ros-0hz-4cams-160x120" 40 "${ros[@]}" --rate 0 --cameras 4 \
  --size 160x120

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
