#!/usr/bin/env bash
# Build the interface packages in interfaces/ (vision_msgs) into real rosidl-generated
# rclpy types and install them into the Python environment of the ROS 2 wheels, beside
# the wheels' own messages: the Python package in its site-packages, the libraries in
# its lib/ (which the wheels put on LD_LIBRARY_PATH at start-up). The venv alone then
# runs detector_node and distance_node, with no variable to set. scripts/setup_env.sh
# calls this; the tests use what it installed. See docs/vision_msgs.md.
#   scripts/build_interfaces.sh [--python PYTHON]
# PYTHON: the venv's interpreter (default: python3 on PATH). The message definitions are
# package data in depth_trt_ros/interfaces/<package>/msg (replay registers them with
# rosbags), so this builds exactly what the package ships. With a sourced ROS 2 the
# installed vision_msgs is used and nothing is built. Idempotent: an install whose
# stamp matches its inputs is kept at once.
set -euo pipefail
cd "$(dirname "$0")/.."
python=python3
while [ $# -gt 0 ]; do
  case $1 in
    --python) python=$2; shift 2;;
    *) echo "usage: $0 [--python PYTHON]" >&2; exit 2;;
  esac
done

read -r distro env_prefix site_dir <<<"$("$python" - <<'EOF'
import importlib.metadata, os, sys, sysconfig
try:
    major = int(importlib.metadata.version('ros-rclpy').split('.')[0])
    distro = {7: 'jazzy', 9: 'kilted'}.get(major, 'unknown')
except importlib.metadata.PackageNotFoundError:
    distro = 'system-' + os.environ.get('ROS_DISTRO', 'none')
print(distro, sys.prefix, sysconfig.get_path('purelib', vars={'base': '', 'platbase': ''}).strip('/'))
EOF
)"
case $distro in
  unknown) echo "unsupported rclpy wheel version: use the Jazzy or Kilted wheels" >&2; exit 1;;
  system-none) echo "no ROS 2 found for $python: run scripts/setup_env.sh or source a ROS 2 setup" >&2
               exit 1;;
  system-*)
    if "$python" -c 'import vision_msgs.msg' 2>/dev/null; then
      echo "using the installed vision_msgs of ROS 2 ${distro#system-}" >&2
      exit 0
    fi
    echo "vision_msgs is not installed: apt-get install ros-${distro#system-}-vision-msgs" >&2
    exit 1;;
esac

sources=interfaces
definitions=depth_trt_ros/interfaces
# Everything the build needs besides the result stays in one folder of the venv.
work=$env_prefix/interface_build
mkdir -p "$work"
# Concurrent runs (two test sessions on one venv) wait for one build.
exec 9>"$work/.lock"
flock 9
stamp_file=$work/stamp
stamp="$({ cat "$0"; find "$sources" "$definitions" -type f | LC_ALL=C sort | xargs cat; } \
        | sha256sum | cut -c1-16)"
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
  exit 0
fi
command -v c++ >/dev/null || { echo "a C/C++ compiler is needed: apt-get install g++" >&2; exit 1; }

tools=$work/tools
requirements=$sources/tools-$distro.txt
# Build tools go to a private prefix: --ignore-installed keeps pip from replacing
# (uninstalling) the environment's own ROS packages, --no-deps from pulling other
# distributions' versions; the requirements file lists every package for that.
echo "installing the ROS 2 $distro interface build tools into $tools" >&2
"$python" -m pip install -q --disable-pip-version-check --prefix "$tools" \
  --ignore-installed --no-deps -r "$requirements" >&2
export PYTHONPATH=$tools/$site_dir${PYTHONPATH:+:$PYTHONPATH}
export AMENT_PREFIX_PATH=$tools:$env_prefix${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}
cmake_version=$(cmake --version 2>/dev/null | sed -n 's/cmake version \([0-9]*\.[0-9]*\).*/\1/p')
if [ -z "$cmake_version" ] || [ "$(printf '%s\n3.21\n' "$cmake_version" | sort -V | head -1)" != 3.21 ]
then
  "$python" -m pip install -q --disable-pip-version-check --prefix "$tools" --ignore-installed \
    'cmake>=3.21' ninja >&2
  export PATH=$tools/bin:$PATH
fi
generator=("-G" "Unix Makefiles")
command -v ninja >/dev/null && generator=("-G" "Ninja")

# The previous build's files go first: a message removed since must not linger.
if [ -f "$work/installed.txt" ]; then
  xargs -r -d '\n' rm -f <"$work/installed.txt"
fi
rm -f "$stamp_file" "$work/installed.txt"
for package in "$sources"/*/; do
  name=$(basename "$package")
  build=$work/build-$name
  echo "building $name for ROS 2 $distro into $env_prefix" >&2
  rm -rf "$build"
  cmake -S "$package" -B "$build" "${generator[@]}" -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$env_prefix" \
    -DCMAKE_PREFIX_PATH="$tools;$env_prefix" -DPython3_EXECUTABLE="$(command -v "$python")" \
    >"$work/$name.log" 2>&1 || { tail -30 "$work/$name.log" >&2; exit 1; }
  cmake --build "$build" --target install -j "$(nproc)" >>"$work/$name.log" 2>&1 \
    || { tail -30 "$work/$name.log" >&2; exit 1; }
  cat "$build/install_manifest.txt" >>"$work/installed.txt"
  echo >>"$work/installed.txt"
  # The build tree is only needed again when the inputs change, and then from scratch.
  rm -rf "$build"
done
echo "$stamp" >"$stamp_file"
