#!/usr/bin/env bash
# Every GPU measurement of issue 4 in one go, within a 9-minute budget: one JSON (and one log)
# per run in OUTDIR, then a combined table with the targets checked, printed last.
#
#   benchmarks/run_gpu.sh OUTDIR [--quick]
#   RUNS=large_data [REUSE=OLD_OUTDIR] benchmarks/run_gpu.sh OUTDIR
#
# RUNS=large_data runs the ros runs with FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA on every
# process (and the baseline, model and pipeline runs they are compared with); with REUSE, the
# baseline and model runs come from that earlier OUTDIR instead, so that a second call
# measures transport without paying for the model runs again.
#
# Run from the repository root. Where .gpu-wheels/ exists (ROS Kilted cp312 wheels, made by
# ../shared/tools/gpu-ros-wheels.sh, plus benchmarks/fetch_gpu_wheels.sh: rosbags and its
# dependencies, which every tool module imports), a venv over the base interpreter gets them
# first, so torch (CUDA) and rclpy live in one interpreter; otherwise $PYTHON (default
# python3) is used (benchmarks/gpu_env.sh).
# --quick: CPU, random:tiny, tiny frames, few iterations -- the same runs, to check the script.
# Weights are random (random:small = DA-V2-Small architecture): timings valid, depth not.
set -uo pipefail
usage='benchmarks/run_gpu.sh OUTDIR [--quick]' default_budget_s=540
source benchmarks/gpu_env.sh "$@"
square=518x518
[[ $mode == --quick ]] && square=140x140
model_loop=(--iterations "$iterations" --warmup "$warmup")
ros_loop=(--duration "$ros_s" --warmup-s "$warmup_s")

large_data_runs() {
  if [[ -n ${REUSE:-} ]]; then
    cp "$REUSE"/baseline-*.json "$REUSE/model-all-graph-$size.json" "$out/"
  else
    bench "baseline-$size" 30 baseline "${engine[@]}" --size "$size" \
      --iterations "$baseline_iterations" --warmup 3
    bench "model-all-graph-$size" 30 model "${engine[@]}" --stages all --size "$size" \
      "${model_loop[@]}" --baseline "$out/baseline-$size.json"
  fi
  base=(--baseline "$out/baseline-$size.json")
  bench "pipeline-$size" 30 pipeline "${engine[@]}" --size "$size" "${model_loop[@]}" \
    "${base[@]}"
  for rate in 30 120 500 0; do
    bench "ros-${rate}hz-large_data-$size" 60 ros "${engine[@]}" --size "$size" --rate "$rate" \
      --qos reliable --large-data "${ros_loop[@]}" "${base[@]}"
  done
  bench "ros-30hz-best_effort-large_data-$size" 60 ros "${engine[@]}" --size "$size" \
    --rate 30 --qos best_effort --large-data "${ros_loop[@]}" "${base[@]}"
  for cameras in 4 2; do
    bench "ros-30hz-${cameras}cams-large_data-$size" 70 ros "${engine[@]}" --size "$size" \
      --rate 30 --cameras "$cameras" --qos reliable --large-data "${ros_loop[@]}" "${base[@]}"
  done
}

core_runs() {
  for frame in "$size" "$square"; do
    bench "baseline-$frame" 30 baseline "${engine[@]}" --size "$frame" \
      --iterations "$baseline_iterations" --warmup 3
  done
  base=(--baseline "$out/baseline-$size.json")
  bench "model-infer-graph-$size" 30 model "${engine[@]}" --size "$size" "${model_loop[@]}" \
    "${base[@]}"
  bench "model-infer-nograph-$size" 30 model "${engine[@]}" --no-cuda-graph --size "$size" \
    "${model_loop[@]}" "${base[@]}"
  bench "model-all-graph-$size" 30 model "${engine[@]}" --stages all --size "$size" \
    "${model_loop[@]}" "${base[@]}"
  for rate in 30 120 0; do
    bench "ros-${rate}hz-$size" 60 ros "${engine[@]}" --size "$size" --rate "$rate" \
      --qos reliable "${ros_loop[@]}" "${base[@]}"
  done
  bench "pipeline-$size" 30 pipeline "${engine[@]}" --size "$size" "${model_loop[@]}" "${base[@]}"
  for variant in graph nograph; do
    flag=--cuda-graph
    [[ $variant == nograph ]] && flag=--no-cuda-graph
    bench "model-infer-$variant-$square" 30 model "${engine[@]}" "$flag" --size "$square" \
      "${model_loop[@]}" --baseline "$out/baseline-$square.json"
  done
  for batch in 2 4; do
    bench "model-all-graph-b$batch-$size" 30 model "${engine[@]}" --stages all --batch "$batch" \
      --size "$size" "${model_loop[@]}" "${base[@]}"
  done
  bench "model-all-nograph-$size" 30 model "${engine[@]}" --no-cuda-graph --stages all \
    --size "$size" "${model_loop[@]}" "${base[@]}"
  for cameras in 2 4; do
    bench "ros-30hz-${cameras}cams-$size" 70 ros "${engine[@]}" --size "$size" --rate 30 \
      --cameras "$cameras" --qos reliable "${ros_loop[@]}" "${base[@]}"
  done
  # The "large images" table: of the frames sent, how many arrive per reliability and transport
  # (reliable with the default transport is ros-30hz above).
  for setting in best_effort reliable-large_data best_effort-large_data; do
    transport=()
    [[ $setting == *large_data ]] && transport=(--large-data)
    bench "ros-30hz-$setting-$size" 60 ros "${engine[@]}" --size "$size" --rate 30 \
      --qos "${setting%-large_data}" ${transport[@]+"${transport[@]}"} "${ros_loop[@]}" "${base[@]}"
  done

  # Above the estimator's rate (368 FPS on the H200, benchmarks/NOTES.md) but not a flood: if flat
  # out misses the 0.85x target, this run tells a node that cannot keep up from one drowned.
  bench "ros-500hz-$size" 60 ros "${engine[@]}" --size "$size" --rate 500 --qos reliable \
    "${ros_loop[@]}" "${base[@]}"
}

if [[ ${RUNS:-core} == large_data ]]; then
  large_data_runs
else
  core_runs
fi

echo "== summary (after ${SECONDS} s)"
"$python" -m depth_trt_ros.tools.cli bench summary "$out" --size "$size"
