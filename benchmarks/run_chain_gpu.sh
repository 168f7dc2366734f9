#!/usr/bin/env bash
# Issue 17's GPU measurements in one run, side by side (about 7-8 minutes on an H200, budget
# 500 s): the honest baseline (the seed's transformers code, plus the old PIL/eager recipe as an
# extra row), the estimator alone, the depth-only ROS graph flat out, at 30 Hz (latency, per-hop
# medians) and at 500 Hz, 4 cameras flat out into one node, and the whole chain -- camera ->
# depth_node + detector_node + distance_node -> subscriber -- flat out, at 250 Hz and at 30 Hz
# over DDS (against the seed's whole stack: transformers depth + the same YOLO, one frame at a
# time) and flat out in one `pipeline` process. One JSON and one log per run in OUTDIR, node logs in
# OUTDIR/NAME-logs, then the table with issue 4's and 17's targets checked, printed last.
#
#   benchmarks/run_chain_gpu.sh OUTDIR [--quick]
#
# Run from the repository root. Interpreter and wheels as benchmarks/gpu_env.sh says: where
# .gpu-wheels/ exists it must hold ../shared/tools/gpu-ros-wheels.sh's Kilted wheels and those
# of benchmarks/fetch_gpu_wheels.sh (visualization_msgs, rosbags, and the vision_msgs build
# tools: vision_msgs is built into the venv there, offline, with scripts/build_interfaces.sh,
# which needs a C++ compiler; without vision_msgs the chain runs are skipped, the rest run).
# YOLO: benchmarks/yolo_stand_in.py builds a YOLO11n-sized stand-in with random weights at 640
# (TorchScript: on the GPU machine ONNX Runtime has no CUDA provider) in $TMPDIR, outside
# OUTDIR; YOLO_MODEL=PATH takes a real export instead. Every ROS run: reliable,
# FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA on every process, 640x480 frames.
# --quick: CPU, random:tiny, 160x120 frames, the stand-in as ONNX at 160, short runs: the same
# runs, to check the script.
# DDS: LARGE_DATA with 2 MB messages (--dds-max-message 2: a frame is one message, not 64 KB
# fragments) where the kernel's socket limits allow it, plus one 30 Hz run without it to compare.
# RUNS: which runs (default all), e.g. RUNS=baseline,model,ros-0hz,chain-250hz,sharing.
# Weights are random (random:small = DA-V2-Small architecture): timings valid, depth not.
set -uo pipefail
usage='benchmarks/run_chain_gpu.sh OUTDIR [--quick]' default_budget_s=500
source benchmarks/gpu_env.sh "$@"
yolo_size=640 yolo_format=torchscript
quick_sharing=
[[ $mode == --quick ]] && yolo_size=160 yolo_format=onnx quick_sharing=--cpu

echo "== setup ($python)"
yolo=${YOLO_MODEL:-}
if [[ -z $yolo ]]; then
  models=$(mktemp -d)
  "$python" benchmarks/yolo_stand_in.py "$models/yolo-stand-in" --size "$yolo_size" \
    | sed 's/^/   /'
  yolo=$models/yolo-stand-in.$yolo_format
fi
chain_ok=1
vision_msgs_env || chain_ok=0
dds=(--dds-max-message 2)
for limit in rmem_max wmem_max; do
  if (($(cat /proc/sys/net/core/$limit) < 2000000)); then
    echo "   net.core.$limit $(cat /proc/sys/net/core/$limit) < 2 MB: LARGE_DATA fragments frames"
    dds=()
  fi
done
echo "   setup took ${SECONDS} s"

# A node that is not active after 90 s will not be: fail the run rather than eat the budget.
ros_fragmented=(--size "$size" --qos reliable --large-data --duration "$ros_s"
                --warmup-s "$warmup_s" --node-timeout 90)
ros=("${ros_fragmented[@]}" ${dds[@]+"${dds[@]}"})
base=(--baseline "$out/baseline-$size.json")
chain_runs() {
  local rate=$1 name=$2 needs=$3
  shift 3
  wanted "${name%-$size}" || return
  ((chain_ok)) || { echo "== $name: SKIPPED (no vision_msgs)"; return; }
  local reuse=(--baseline-iterations "$baseline_iterations" --warmup 3)
  # The seed stack is measured once, in the first chain run, and reused by the others.
  [[ -n $seed_stack ]] && reuse=(--baseline "$seed_stack")
  bench "$name" "$needs" chain "${engine[@]}" "${ros[@]}" --rate "$rate" --yolo-model "$yolo" \
    "${reuse[@]}" "$@"
  [[ -z $seed_stack && -f $out/$name.json ]] && seed_stack=$out/$name.json
  return 0
}
seed_stack=

runs=${RUNS:-baseline,model,ros-0hz,chain-0hz,chain-250hz,chain-300hz,chain-400hz,ros-30hz,ros-30hz-fragmented,chain-30hz,ros-0hz-4cams,chain-0hz-inprocess,ros-500hz,sharing}
wanted() { [[ ,$runs, == *,$1,* ]]; }
wanted baseline && bench "baseline-$size" 40 baseline "${engine[@]}" --size "$size" \
  --iterations "$baseline_iterations" --warmup 3 --variants pil-eager
wanted model && bench "model-all-graph-$size" 30 model "${engine[@]}" --stages all \
  --size "$size" --iterations "$iterations" --warmup "$warmup" "${base[@]}"
wanted ros-0hz && bench "ros-0hz-$size" 60 ros "${engine[@]}" "${ros[@]}" --rate 0 "${base[@]}"
chain_runs 0 "chain-0hz-$size" 90
# Flat out, depth_node and detector_node each take the newest frame, mostly not the same one;
# offered 250 Hz, above the 200 target, both can take every frame.
chain_runs 250 "chain-250hz-$size" 60
# Above it, to find where the chain stops keeping up.
chain_runs 300 "chain-300hz-$size" 60
chain_runs 400 "chain-400hz-$size" 60
wanted ros-30hz && bench "ros-30hz-$size" 60 ros "${engine[@]}" "${ros[@]}" --rate 30 \
  "${base[@]}"
# The same with LARGE_DATA's default message size: each frame in 64 KB fragments.
wanted ros-30hz-fragmented && ((${#dds[@]})) && bench "ros-30hz-$size-fragmented" 60 ros \
  "${engine[@]}" "${ros_fragmented[@]}" --rate 30 "${base[@]}"
chain_runs 30 "chain-30hz-$size" 60
wanted ros-0hz-4cams && bench "ros-0hz-4cams-$size" 70 ros "${engine[@]}" "${ros[@]}" --rate 0 \
  --cameras 4 "${base[@]}"
chain_runs 0 "chain-0hz-inprocess-$size" 60 --in-process
wanted ros-500hz && bench "ros-500hz-$size" 60 ros "${engine[@]}" "${ros[@]}" --rate 500 \
  "${base[@]}"
# Depth and YOLO loops sharing the GPU: alone, as two processes, as two threads of one.
if wanted sharing && ((budget_s - SECONDS >= 90)); then
  echo "== sharing"
  mkdir -p "$out/sharing"
  "$python" benchmarks/gpu_sharing.py "$yolo" "$out/sharing/sharing.json" --seconds 5 \
    $quick_sharing 2>&1 | tee "$out/sharing/sharing.log" | sed 's/^/   /'
fi

echo "== summary (after ${SECONDS} s)"
"$python" -m depth_trt_ros.tools.cli bench summary "$out" --size "$size"
