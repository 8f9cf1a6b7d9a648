#!/usr/bin/env bash
# The 64× recipe on one GPU in one 10-minute command (docs/results/recipe.md), from a clean checkout.
#
#   here (.NET):      bash scripts/bundle.sh                     # → .bundle/longctx.tar.xz (carry it to the GPU box)
#   GPU box:          bash bench/recipe/run.sh                   # PyTorch box, no .NET, no network
#
# It unpacks the bundle and builds the add-on (scripts/gpu-setup.sh), then runs
#   longctx quickstart --device cuda --data <site-packages> --time-budget <what is left of TOTAL_SECONDS>
# The run folder (models, eval runs) stays in RUN_DIR; report.md, summary.json, events.jsonl, plots/ and the training
# metrics are copied to $OUT/recipe (also when the run is cut short: events.jsonl holds every finished phase).
# Environment: TOTAL_SECONDS (default 570: the whole command, setup included), RUN_DIR (default /tmp/longctx-recipe),
# DATA (default: this Python's site-packages), OUT (default runs/).
set -uo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
started=$(date +%s)
TOTAL_SECONDS="${TOTAL_SECONDS:-570}"
RUN_DIR="${RUN_DIR:-/tmp/longctx-recipe}"
OUT="${OUT:-$repo/runs}"
dest="$OUT/recipe"
mkdir -p "$dest"

collect() {
  # Whatever exists, even after a cut: the report if it was written, the event log always.
  for f in report.md summary.json events.jsonl; do [[ -f "$RUN_DIR/$f" ]] && cp "$RUN_DIR/$f" "$dest/"; done
  [[ -d "$RUN_DIR/plots" ]] && mkdir -p "$dest/plots" && cp "$RUN_DIR"/plots/*.png "$dest/plots/" 2>/dev/null
  [[ -f "$RUN_DIR/tokenizer/training.json" ]] && cp "$RUN_DIR/tokenizer/training.json" "$dest/tokenizer_training.json"
  for m in "$RUN_DIR"/train/*/metrics.jsonl; do [[ -f "$m" ]] && cp "$m" "$dest/metrics_$(basename "$(dirname "$m")").jsonl"; done
  for r in "$RUN_DIR"/eval/*/passkey/report.md; do [[ -f "$r" ]] && cp "$r" "$dest/passkey_$(basename "$(dirname "$(dirname "$r")")").md"; done
  echo "{\"setup_seconds\":${setup_seconds:-null},\"total_seconds\":$(( $(date +%s) - started )),\"exit_code\":${rc:-null}}" > "$dest/wall.json"
}
trap collect EXIT

if [[ ! -f "$repo/.bundle/longctx.tar.xz" && ! -x "$repo/.bundle/longctx/longctx" ]]; then
  if command -v dotnet >/dev/null; then bash "$repo/scripts/bundle.sh"
  else echo "no .bundle/longctx.tar.xz and no dotnet: run 'bash scripts/bundle.sh' on a machine with .NET and bring .bundle/longctx.tar.xz here" >&2; exit 2; fi
fi
# shellcheck source=/dev/null
source "$repo/scripts/gpu-setup.sh" >&2
setup_seconds=$(( $(date +%s) - started ))
DATA="${DATA:-$(python3 -c 'import site;print(site.getsitepackages()[0])')}"
budget=$(( TOTAL_SECONDS - setup_seconds - 15 ))
echo "[recipe] setup took ${setup_seconds}s; quickstart gets ${budget}s (data: $DATA)" >&2
rm -rf "$RUN_DIR"
timeout --signal=INT --kill-after=10 $(( budget + 20 )) "$repo/scripts/longctx-bundle.sh" quickstart --device cuda --data "$DATA" --out "$RUN_DIR" \
  --time-budget "${budget}s" --json > "$dest/summary_line.json"
rc=$?
echo "[recipe] exit code $rc after $(( $(date +%s) - started ))s" >&2
exit $rc
