#!/bin/sh
# unmix's benchmark, portable: runs on Linux x86-64 with a GPU driver, without Node.js or npm.
# Written into the bundle by `npm run bench:bundle -- --out DIR` (bench/bundle.ts).
#
#   ./run.sh                          kernels and the training step on synthetic mixtures (no dataset)
#   ./run.sh --data DIR               also trains the default preset on DIR (mnist/, fashion-mnist/) and evaluates it
#   ./run.sh -- --only kernels --quick --batches 32    arguments after -- replace the benchmark's defaults
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$PWD/unmix-bench-$(date -u +%Y%m%d-%H%M%S)"
DATA=""
TRAIN_ARGS=""
EVAL_ARGS=""
TORCH_ARGS=""
TORCH=auto
BENCH_ARGS="--full --warmup 10 --steps 50"

usage() {
  cat <<USAGE
usage: $0 [options] [-- benchmark options]
  --out DIR          where the results go (default ./unmix-bench-<date-time>)
  --data DIR         a folder with mnist/ and fashion-mnist/: also train (the CLI's default preset) and evaluate
  --train-args "..." extra flags for the training command, e.g. "--steps 500 --batch 64"
  --eval-args "..."  extra flags for the evaluation (default: the full protocol), e.g. "--repeats 3"
  --torch-args "..." flags for bench/peers/torch_bench.py (default: batch 64, 10 + 50 steps), e.g. "--device cpu"
  --no-torch         skip the PyTorch peer even where python3 can import torch
  -- ARGS            the benchmark's flags instead of "$BENCH_ARGS" (see: $0 -- --help)
Results: OUT/*.json in the format of npm run bench (peak, kernels, train-step), OUT/RESULTS.md,
OUT/torch-train-step.json (PyTorch, where installed), OUT/train/ and OUT/eval.json (with --data).
The runtime is unpacked once into \${UNMIX_BUNDLE_CACHE:-\${XDG_CACHE_HOME:-\$HOME/.cache}/unmix-bench}/<bundle id>.
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --data) DATA=$(cd "$2" && pwd); shift 2 ;;
    --train-args) TRAIN_ARGS=$2; shift 2 ;;
    --eval-args) EVAL_ARGS=$2; shift 2 ;;
    --torch-args) TORCH_ARGS=$2; shift 2 ;;
    --no-torch) TORCH=no; shift ;;
    --help|-h) usage; exit 0 ;;
    --) shift; BENCH_ARGS=""; break ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ "$(uname -sm)" = "Linux x86_64" ] || { echo "run.sh: this bundle is for Linux x86-64, not $(uname -sm)" >&2; exit 1; }

# Decompresses $1 (.xz or .gz) to $2: with xz or gzip where installed, else Python's lzma or gzip.
unpack() {
  case "$1" in
    *.xz) if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"
          else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1" >"$2"; fi ;;
    *.gz) if command -v gzip >/dev/null 2>&1; then gzip -dc "$1" >"$2"
          else python3 -c 'import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), sys.stdout.buffer)' "$1" >"$2"; fi ;;
    *) echo "run.sh: do not know how to unpack $1" >&2; return 1 ;;
  esac
}
compressed() { for f in "$HERE/runtime/$1".xz "$HERE/runtime/$1".gz; do [ -f "$f" ] && { echo "$f"; return; }; done
  echo "run.sh: $HERE/runtime/$1.xz is missing: rebuild the bundle" >&2; return 1; }

# The unpacked runtime mirrors the repository, as the bundled JavaScript expects: app/, shaders/,
# node_modules/webgpu/, bench/results/ (where the benchmark writes).
ID=$(cat "$HERE/bundle-id")
WORK="${UNMIX_BUNDLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unmix-bench}/$ID"
if [ ! -f "$WORK/.complete" ]; then
  echo "unpacking the runtime into $WORK" >&2
  rm -rf "$WORK.tmp.$$"
  mkdir -p "$WORK.tmp.$$/bin" "$WORK.tmp.$$/lib" "$WORK.tmp.$$/node_modules/webgpu/dist/linux-x64"
  unpack "$(compressed node)" "$WORK.tmp.$$/bin/node"
  chmod +x "$WORK.tmp.$$/bin/node"
  unpack "$(compressed dawn.node)" "$WORK.tmp.$$/node_modules/webgpu/dist/linux-x64/dawn.node"
  unpack "$(compressed libvulkan.so.1)" "$WORK.tmp.$$/lib/libvulkan.so.1"
  cp "$HERE"/node_modules/webgpu/* "$WORK.tmp.$$/node_modules/webgpu/"
  cp -R "$HERE/app" "$HERE/shaders" "$WORK.tmp.$$/"
  touch "$WORK.tmp.$$/.complete"
  rm -rf "$WORK"
  mv "$WORK.tmp.$$" "$WORK"
fi
NODE="$WORK/bin/node"

# The machine's own Vulkan loader where it has one (it matches its driver), else the bundled one
# (UNMIX_BUNDLED_VULKAN=1 forces it).
if [ "${UNMIX_BUNDLED_VULKAN:-}" = 1 ] || { ! { command -v ldconfig >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; } \
   && [ ! -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] && [ ! -e /usr/lib64/libvulkan.so.1 ]; }; then
  export LD_LIBRARY_PATH="$WORK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "using the bundled Vulkan loader" >&2
fi
ICDS=$(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d 2>/dev/null | grep -c '\.json$' || true)
if [ "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" = "" ] && [ "$ICDS" = 0 ]; then
  echo "run.sh: no Vulkan driver is registered (no icd.d/*.json). On NVIDIA install the driver's Vulkan part;" >&2
  echo "  in a container, NVIDIA_DRIVER_CAPABILITIES must include graphics (or be all)." >&2
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$WORK/bench/results" "$WORK/bench/RESULTS.md"
status=0
echo "== unmix benchmark ($(cat "$HERE/manifest.json" | sed -n 's/.*"commit": "\(.*\)".*/commit \1/p'))" >&2
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
(cd "$WORK" && "$NODE" app/bench.mjs --no-browser --no-peers $BENCH_ARGS "$@") || status=$?
cp "$WORK"/bench/results/*.json "$OUT"/ 2>/dev/null || true
cp "$WORK/bench/RESULTS.md" "$OUT"/ 2>/dev/null || true

if [ "$TORCH" = auto ] && command -v python3 >/dev/null 2>&1 && python3 -c 'import torch' 2>/dev/null; then
  echo "== PyTorch peer" >&2
  # shellcheck disable=SC2086 # TORCH_ARGS is a list of flags
  python3 "$HERE/bench/peers/torch_bench.py" --out "$OUT/torch-train-step.json" $TORCH_ARGS || status=$?
fi

if [ -n "$DATA" ]; then
  echo "== training the default preset on $DATA, then the evaluation protocol" >&2
  # shellcheck disable=SC2086 # TRAIN_ARGS is a list of flags
  (cd "$WORK" && "$NODE" app/train.mjs --data "$DATA" --out "$OUT/train" --eval-repeats 0 $TRAIN_ARGS) || status=$?
  # shellcheck disable=SC2086 # EVAL_ARGS is a list of flags
  (cd "$WORK" && "$NODE" app/eval.mjs --data "$DATA" --weights "$OUT/train/latest.safetensors" --json --grid "$OUT/train/samples.png" $EVAL_ARGS) \
    >"$OUT/eval.json" || status=$?
fi
echo "results in $OUT" >&2
exit $status
