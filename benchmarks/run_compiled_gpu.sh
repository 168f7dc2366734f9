#!/usr/bin/env bash
# What torch_compile buys the node, side by side in one run (about 6 minutes on an H200,
# budget 420 s): the estimator graphed and compiled + graphed, the 30 Hz latency with the
# compiled model, and four cameras at 300 Hz each with and without it. First the GPU tests of
# the compiled backend and of the detector's frames in flight.
#
#   benchmarks/run_compiled_gpu.sh OUTDIR [--quick]
#
# Run from the repository root; interpreter and wheels as benchmarks/gpu_env.sh says.
# Reliable, LARGE_DATA with 2 MB messages where the kernel allows, 640x480, random:small fp16.
# --quick checks the script on the CPU, where compiling is refused: those runs fail.
set -uo pipefail
usage='benchmarks/run_compiled_gpu.sh OUTDIR [--quick]' default_budget_s=420
source benchmarks/gpu_env.sh "$@"
vision_msgs_env > "$out/vision_msgs.log" 2>&1 || echo "vision_msgs: see $out/vision_msgs.log"
echo "== GPU tests"
"$python" -m pytest test/detection/test_yolo.py test/test_backends.py -p no:cacheprovider -q \
  -rs -k 'cuda or compiled' > "$out/gpu-tests.log" 2>&1
tail -n 3 "$out/gpu-tests.log" | sed 's/^/   /'
dds=(--dds-max-message 2)
(($(cat /proc/sys/net/core/rmem_max) < 2000000 || $(cat /proc/sys/net/core/wmem_max) < 2000000)) &&
  dds=()
ros=(ros "${engine[@]}" --size "$size" --qos reliable --large-data ${dds[@]+"${dds[@]}"}
     --duration 6 --warmup-s 2 --node-timeout 120 --baseline-iterations 0)
bench "model-all-graph-$size" 30 model "${engine[@]}" --stages all --size "$size" \
  --iterations "$iterations" --warmup "$warmup" --baseline-iterations 0
bench "model-all-compiled-$size" 80 model "${engine[@]}" --torch-compile --stages all \
  --size "$size" --iterations "$iterations" --warmup "$warmup" --baseline-iterations 0
bench "ros-30hz-compiled-$size" 80 "${ros[@]}" --torch-compile --rate 30
bench "ros-300hz-4cams-$size" 50 "${ros[@]}" --rate 300 --cameras 4
bench "ros-300hz-4cams-compiled-$size" 90 "${ros[@]}" --torch-compile --rate 300 --cameras 4
echo "== summary (after ${SECONDS} s)"
"$python" -m depth_trt_ros.tools.cli bench summary "$out" --size "$size"
