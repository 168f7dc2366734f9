#!/usr/bin/env bash
# Wheels the GPU machine (CPython 3.12, x86_64, no internet) needs beyond the ROS 2 Kilted set
# of ../shared/tools/gpu-ros-wheels.sh, into the same folder:
#   - visualization_msgs (distance_node's markers) and rosbags with its dependencies (every
#     tool module imports it), installed with the ROS wheels by benchmarks/gpu_env.sh;
#   - in DIR/interface-tools, the pinned build tools of interfaces/tools-kilted.txt, with
#     which scripts/build_interfaces.sh builds vision_msgs into the venv there, offline.
#   benchmarks/fetch_gpu_wheels.sh [DIR]     (default .gpu-wheels; about 3 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-.gpu-wheels}
download=(python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12
          --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
          --platform manylinux2014_x86_64 --platform any)
"${download[@]}" -d "$dir" ros-visualization-msgs==5.5.1 rosbags apsw backports.zstd lz4 \
  ruamel.yaml ruamel.yaml.clib
"${download[@]}" -d "$dir/interface-tools" -r interfaces/tools-kilted.txt
# The generators' own dependencies, which the ROS wheels (installed --no-deps) leave out;
# empy has no wheel on PyPI, so one is built here (pure Python).
python3 -m pip wheel -q --no-deps -w "$dir/interface-tools" empy==4.2.1 lark-parser==0.12.0
du -sh "$dir"
