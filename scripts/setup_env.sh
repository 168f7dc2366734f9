#!/usr/bin/env bash
# Create the project's Python environment from the package registries alone.
#   scripts/setup_env.sh [--distro kilted|jazzy] [--venv DIR]
# Without a sourced ROS 2 (ROS_DISTRO unset) it installs the ROS 2 wheels of the
# chosen distribution from PyPI and builds vision_msgs, which no wheel provides, into
# the venv (scripts/build_interfaces.sh), so that every node and tool runs from the
# venv alone. With one sourced, it reuses that installation (rclpy and the message
# packages, vision_msgs included, come from /opt/ros) and installs only the rest.
# Idempotent: a venv whose stamp matches this script and the requirements is kept, and
# so is a vision_msgs build whose inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
distro=${DEPTH_TRT_ROS_DISTRO:-kilted}
venv=""
while [ $# -gt 0 ]; do
  case $1 in
    --distro) distro=$2; shift 2;;
    --venv) venv=$2; shift 2;;
    *) echo "usage: $0 [--distro kilted|jazzy] [--venv DIR]" >&2; exit 2;;
  esac
done
case $distro in kilted|jazzy) ;; *) echo "unknown distro '$distro': kilted or jazzy" >&2; exit 2;; esac
[ -n "$venv" ] || venv=.venv-$distro
python=${PYTHON:-python3}

reqs=(requirements/common.txt)
if [ -n "${ROS_DISTRO:-}" ]; then
  echo "using the sourced ROS 2 $ROS_DISTRO instead of PyPI wheels"
  venv_flags=(--system-site-packages)
  stamp_extra="system-$ROS_DISTRO"
else
  reqs+=("requirements/ros-$distro.txt")
  venv_flags=()
  stamp_extra="wheels-$distro"
fi
stamp="$(cat "$0" "${reqs[@]}" | sha256sum | cut -c1-16)-$stamp_extra"
if [ ! -f "$venv/.stamp" ] || [ "$(cat "$venv/.stamp")" != "$stamp" ]; then
  echo "creating $venv (ROS 2 $distro)"
  rm -rf "$venv"
  "$python" -m venv "${venv_flags[@]}" "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  # torch first and alone: the CPU build on this kind of machine, never a surprise CUDA download.
  "$venv/bin/python" -m pip install -q "$(grep '^torch' requirements/common.txt)"
  for r in "${reqs[@]}"; do "$venv/bin/python" -m pip install -q -r "$r"; done
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
  echo "$stamp" > "$venv/.stamp"
  echo "ready: $venv"
fi
# Outside the stamp: it keeps its own, over the message definitions.
if [ -n "${ROS_DISTRO:-}" ]; then
  scripts/build_interfaces.sh --python "$venv/bin/python" \
    || echo "detector_node and distance_node need vision_msgs; depth_node runs without" >&2
else
  scripts/build_interfaces.sh --python "$venv/bin/python"
fi
