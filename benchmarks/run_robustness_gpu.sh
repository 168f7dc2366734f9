#!/usr/bin/env bash
# Issue 14's and 17's GPU checks in one call (about 5 minutes on an H200, budget 480 s):
#   1. the GPU tests CI skips (TensorRT-backend paths that run without TensorRT, the detector
#      on CUDA, engine files) and benchmarks/gpu_checks.py (TorchScript YOLO with CUDA graphs);
#   2. benchmarks/reload_under_load.py: model changes on a serving depth_node on CUDA (the new
#      model's graphs are captured beside the serving thread);
#   3. benchmarks/soak.py --sizes 200: frames of 200 sizes for --minutes (default 2) at 60 Hz,
#      RSS and device memory over time: every size-keyed cache past its bound.
#
#   [ONLY=tests,reload,soak] benchmarks/run_robustness_gpu.sh OUTDIR [--quick]
#
# Run from the repository root; interpreter and wheels as benchmarks/gpu_env.sh says.
set -uo pipefail
usage='benchmarks/run_robustness_gpu.sh OUTDIR [--quick]' default_budget_s=480
source benchmarks/gpu_env.sh "$@"
minutes=${SOAK_MINUTES:-2}
[[ $mode == --quick ]] && minutes=0.5
# VGA frames over DDS as the README recommends: without it they crawl over UDP, and the
# gaps measured would be the transport's, not the node's.
export FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA
ONLY=${ONLY:-tests,reload,soak}

if [[ $ONLY == *tests* ]]; then
echo "== GPU tests"
PYTHONPATH=.:test timeout 150 "$python" -m pytest --noconftest -p no:cacheprovider -q -rs \
  test/test_tensorrt_backend_gpu.py test/detection/test_yolo.py test/test_engine_file.py \
  > "$out/gpu-tests.log" 2>&1
tail -n 15 "$out/gpu-tests.log"
[[ $mode == --quick ]] || PYTHONPATH=.:test timeout 60 "$python" benchmarks/gpu_checks.py \
  2>&1 | tee "$out/gpu-checks.log"
fi

if [[ $ONLY == *reload* ]]; then
echo "== model changes under load"
timeout 150 "$python" benchmarks/reload_under_load.py "${engine[@]}" --rate 60 \
  --json "$out/reload-under-load.json" > "$out/reload-under-load.log" 2>&1
tail -n 40 "$out/reload-under-load.log"
fi

[[ $ONLY == *soak* ]] || exit 0
echo "== soak, 200 frame sizes, $minutes min"
timeout $((budget_s - SECONDS)) "$python" benchmarks/soak.py --minutes "$minutes" --rate 60 \
  --sizes 200 "${engine[@]}" --json "$out/soak-sizes.json" > "$out/soak-sizes.log" 2>&1
"$python" - "$out/soak-sizes.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(json.dumps({key: report.get(key) for key in ('rss_mb', 'device_memory_mb', 'latency_ms')},
                 indent=1))
print('frames', json.dumps(report['frames']))
PY
echo "== done in ${SECONDS} s"
