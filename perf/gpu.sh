#!/usr/bin/env bash
# The full LongEmbed bench on a CUDA machine: every task, synthetic lengths 256..32768, bf16 weights,
# max length L_t = 32768, all methods. Usage:
#   perf/gpu.sh [OUT_DIR]            (default perf/out-gpu)
# Environment overrides (all optional):
#   LONGEMBED_DATA   LongEmbed-format directory; unset = the hub dataset dwzhu/LongEmbed (needs `datasets`)
#   MODEL            default: the bundled all-MiniLM-L6-v2
#   TASKS LENGTHS METHODS MAX_LENGTH LIMIT DEVICE DTYPE BATCH_TOKENS   see `longembed bench --help`
#   LONGEMBED_VENV   virtual environment with longembed installed (default: .venv of the repository)
# Re-running with the same OUT_DIR reuses its embedding cache, so an interrupted run resumes.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LONGEMBED_VENV:-$repo/.venv}"
out="${1:-$repo/perf/out-gpu}"
device="${DEVICE:-cuda}"
python="$venv/bin/python"

if [ ! -x "$python" ]; then
  echo "no virtual environment at $venv: run scripts/setup first (with a CUDA build of torch installed)" >&2
  exit 1
fi
if [ "$device" = cuda ] && ! "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "torch sees no CUDA device; install a CUDA build of torch 2.13.0 or set DEVICE=cpu" >&2
  exit 1
fi

args=(
  --tasks "${TASKS:-passkey,needle,narrativeqa,qmsum,2wikimqa,summ_screen_fd}"
  --lengths "${LENGTHS:-256,512,1024,2048,4096,8192,16384,32768}"
  --methods "${METHODS:-none,pcw,gp,rp,pi,chunked-maxp,chunked-mean}"
  --max-length "${MAX_LENGTH:-32768}"
  --device "$device"
  --dtype "${DTYPE:-bfloat16}"
  --batch-tokens "${BATCH_TOKENS:-131072}"
  --out "$out"
  --compare
)
[ -n "${MODEL:-}" ] && args+=(--model "$MODEL")
[ -n "${LONGEMBED_DATA:-}" ] && args+=(--data "$LONGEMBED_DATA")
[ -n "${LIMIT:-}" ] && args+=(--limit "$LIMIT")

export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-0}"
cd "$repo"
echo "longembed bench ${args[*]}" >&2
exec "$python" -m longembed.cli bench "${args[@]}"
