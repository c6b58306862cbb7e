#!/usr/bin/env bash
# The pipeline's steps, so that the CI workflow stays thin and every step can be run by hand:
#
#   pipeline.sh install   create ./venv and install requirements.txt (`pulumi install`)
#   pipeline.sh preview   show what a merge would change; the preview goes into the job summary
#   pipeline.sh up        apply the stack
#   pipeline.sh drift     fail when ZStack no longer matches the stack (e.g. a backup deleted by hand)
#   pipeline.sh install-drill   install the restore drill's project (../restore-drill) the same way
#   pipeline.sh drill     the restore drill: restore the newest backup into an isolated network, fail unless
#                         it comes up Running, then destroy it again
#
# Needs, from the CI's secret store: PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE (the state backend),
# ZSTACK_HOST and ZSTACK_ACCOUNT_NAME/ZSTACK_ACCOUNT_PASSWORD or ZSTACK_ACCESS_KEY_ID/ZSTACK_ACCESS_KEY_SECRET.
# Optional: PULUMI_STACK (default production), ZSTACK_PORT, ZSTACK_SCHEME, PULUMI_PARALLEL; for the drill,
# DRILL_DIR (default ../restore-drill) and DRILL_STACK (default restore-drill).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

STACK="${PULUMI_STACK:-production}"
# Each backup spends minutes waiting for its ZStack job, so a fleet should run many at once; Pulumi's
# default is 4 per CPU (8 on a 2-core runner). ZStack queues what it cannot run yet.
PARALLEL="${PULUMI_PARALLEL:-64}"
SUMMARY="${GITHUB_STEP_SUMMARY:-/dev/null}"
DRILL_DIR="${DRILL_DIR:-../restore-drill}"
DRILL_STACK="${DRILL_STACK:-restore-drill}"
export PULUMI_SKIP_UPDATE_CHECK=true

require() {
  local missing=() name
  for name in "$@"; do [ -n "${!name:-}" ] || missing+=("$name"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "pipeline.sh: set ${missing[*]} (from the CI's secret store)" >&2
    exit 2
  fi
}

select_stack() {
  require PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE ZSTACK_HOST
  pulumi stack select --create "$STACK" --non-interactive >/dev/null
}

drill_failed() {
  echo "**Restore drill failed:** $1" >>"$SUMMARY"
  echo "pipeline.sh: restore drill failed: $1" >&2
}

# Restores, checks and removes the drill VM. The drill stack is destroyed whatever happened, so a failed
# drill leaves no VM behind; the step fails when the restore did not come up Running.
restore_drill() {
  local status=0 state
  STACK="$DRILL_STACK"
  cd "$DRILL_DIR"
  select_stack
  if ! summarised "restore drill" up --yes --skip-preview --non-interactive; then
    drill_failed "the newest backup could not be restored (see the error above)"
    status=1
  elif ! state="$(pulumi stack output state)" || [ "$state" != "Running" ]; then
    drill_failed "the restored VM is ${state:-unknown}, not Running"
    status=1
  else
    echo "**Restore drill passed:** backup group \`$(pulumi stack output restored_group)\` restored and Running" >>"$SUMMARY"
  fi
  summarised "restore drill clean-up" destroy --yes --skip-preview --non-interactive || status=1
  return "$status"
}

# Runs a pulumi command, shows its output, and appends it to the job summary under a heading.
summarised() {
  local heading="$1" status=0 output
  shift
  output="$(mktemp)"
  pulumi "$@" 2>&1 | tee "$output" || status=$?
  {
    echo "### $heading (stack \`$STACK\`)"
    echo '```'
    cat "$output"
    echo '```'
  } >>"$SUMMARY"
  rm -f "$output"
  return "$status"
}

case "${1:-}" in
  install)
    pulumi install
    ;;
  preview)
    select_stack
    summarised "pulumi preview" preview --diff --non-interactive --parallel "$PARALLEL"
    ;;
  up)
    select_stack
    summarised "pulumi up" up --yes --skip-preview --non-interactive --parallel "$PARALLEL"
    ;;
  drift)
    select_stack
    # --refresh reads every backup from ZStack first; --expect-no-changes makes any difference an error.
    if ! summarised "drift check" preview --refresh --expect-no-changes --diff --non-interactive \
        --parallel "$PARALLEL"; then
      echo "**Drift:** ZStack no longer matches stack \`$STACK\`; run the pipeline on main (\`pulumi up\`) to restore it." >>"$SUMMARY"
      echo "pipeline.sh: drift detected in stack $STACK" >&2
      exit 1
    fi
    ;;
  install-drill)
    cd "$DRILL_DIR" && pulumi install
    ;;
  drill)
    restore_drill
    ;;
  *)
    echo "usage: pipeline.sh install|preview|up|drift|install-drill|drill" >&2
    exit 2
    ;;
esac
