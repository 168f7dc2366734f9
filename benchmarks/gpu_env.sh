# Sourced (not run) by the GPU benchmark scripts, from the repository root, as
#   usage='...' default_budget_s=N; source benchmarks/gpu_env.sh "$@"
# so that every script reads OUTDIR [--quick] and sets up the interpreter, the run settings,
# the run helper and vision_msgs the same way.
#
# Sets $out (made), $mode, $budget_s (BUDGET_S, else the script's default), the run settings
# (run_settings below) and $python: where .gpu-wheels/ exists (ROS Kilted cp312 wheels of
# ../shared/tools/gpu-ros-wheels.sh plus benchmarks/fetch_gpu_wheels.sh), a venv over the base
# interpreter gets them first, so torch (CUDA) and rclpy live in one interpreter; otherwise
# $PYTHON (default python3).
out=${1:?usage: $usage}
mode=${2:-full}
budget_s=${BUDGET_S:-$default_budget_s}
mkdir -p "$out"
python=${PYTHON:-python3}
if [[ -d .gpu-wheels ]]; then
  venv=${ROS_VENV:-/tmp/rv}
  if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
    # The base interpreter is itself a venv: a .pth, not --system-site-packages, reaches torch.
    site=$("$venv/bin/python" -c 'import site; print(site.getsitepackages()[0])')
    python3 -c 'import site; print(site.getsitepackages()[0])' > "$site/base_env.pth"
    "$venv/bin/pip" install -q --no-index --no-deps .gpu-wheels/*.whl
  fi
  python=$venv/bin/python
fi
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-71}

# run_settings MODE: the engine and run lengths of a full run (GPU, DA-V2-Small at 518, 640x480)
# or of --quick (CPU, random:tiny, tiny frames, few iterations: checks a script).
run_settings() {
  if [[ $1 == --quick ]]; then
    engine=(--model random:tiny --device cpu --precision fp32 --input-size 140)
    size=160x120 iterations=5 warmup=1 baseline_iterations=2 ros_s=3 warmup_s=2
    # On a small shared CPU, OpenMP threads of several processes spin against each other.
    export OMP_NUM_THREADS=1
  else
    engine=(--model random:small --device cuda --precision fp16 --input-size 518)
    size=640x480 iterations=200 warmup=20 baseline_iterations=30 ros_s=10 warmup_s=3
  fi
}

# bench NAME MIN_SECONDS_LEFT ARGS...: one `depth-trt-ros bench` run writing $out/NAME.json and
# $out/NAME.log, skipped when the budget left is below MIN.
bench() {
  local name=$1 needs=$2 logs=()
  shift 2
  # Node and publisher logs come back with the results.
  [[ $1 == ros || $1 == chain ]] && logs=(--log-dir "$out/$name-logs")
  if ((budget_s - SECONDS < needs)); then
    echo "== $name: SKIPPED ($((budget_s - SECONDS)) s of the budget left, needs ${needs} s)"
    return
  fi
  echo "== $name"
  bench_once "$name" "$@"
  local status=$?
  # Under LARGE_DATA, DDS discovery between fresh processes now and then never completes
  # (seen on a loaded CPU machine): such a run is tried once more while the budget allows.
  if ((status != 0 && budget_s - SECONDS >= needs)) &&
      grep -q 'not active after' "$out/$name.log"; then
    echo "   nodes never got active; once more (first log: $out/$name-first.log)"
    mv "$out/$name.log" "$out/$name-first.log"
    bench_once "$name" "$@"
    status=$?
  fi
  if ((status != 0)); then
    echo "   FAILED (exit $status), log $out/$name.log ends:"
    tail -n 15 "$out/$name.log"
  else
    grep -E 'throughput|latency p50|frames sent|unaccounted|with own depth|complete|speed-up|FPS \(seed' \
      "$out/$name.log" | sed 's/^/   /'
  fi
}

# bench_once NAME ARGS...: the run itself (with bench's $logs), at most 180 s: one hung run
# must not eat the whole budget.
bench_once() {
  local name=$1 left=$((budget_s - SECONDS))
  shift
  timeout $((left < 180 ? left : 180)) "$python" -m depth_trt_ros.tools.cli bench "$@" \
    ${logs[@]+"${logs[@]}"} -o "$out/$name.json" > "$out/$name.log" 2>&1
}

# vision_msgs_env: make vision_msgs importable for $python and its children (detector and
# distance nodes): scripts/build_interfaces.sh builds it into the venv -- offline from
# .gpu-wheels/interface-tools where that exists. Returns non-zero, saying why, if it cannot.
vision_msgs_env() {
  "$python" -c 'import vision_msgs.msg' 2>/dev/null && return 0
  local offline=()
  if [[ -d .gpu-wheels/interface-tools ]]; then
    offline=(env PIP_NO_INDEX=1 "PIP_FIND_LINKS=$PWD/.gpu-wheels/interface-tools")
    # The generators need empy and lark, which the ROS wheels (installed --no-deps) lack.
    "$python" -m pip install -q --no-index --no-deps .gpu-wheels/interface-tools/empy-*.whl \
      .gpu-wheels/interface-tools/lark_parser-*.whl
  fi
  ${offline[@]+"${offline[@]}"} bash scripts/build_interfaces.sh --python "$python" ||
    { echo "vision_msgs could not be built (above)"; return 1; }
}

run_settings "$mode"
