#!/usr/bin/env bash
# Differential campaign: the `libpatch21` profile (and the provider fold) against the
# reference library itself.
#
# Makes hook logs: gen-log over a grid of small worlds and seeds, the explorer's shortest
# counterexample for every invariant and every exception the reference raises, random walks
# of the world simulator, the `fold` fuzz corpus, the logs this project keeps in tests/ and
# examples/, and the conformance corpus's own logs (made by the reference elsewhere: they
# check this harness, since the replay matches their reports in `cargo test`). Replays
# each through the reference under ops.testing (scripts/reference/harness.py) and holds
# the `libpatch21` replay to the reports it gives, with the conformance comparison
# (`CONFORMANCE_DIR=... cargo test --test conformance`), and `grafana-source render`'s
# YAML file after each log to the charm's own (scripts/reference/yaml_differential.py,
# through PyYAML: NaN, big ints and int keys included). Then the provider side:
# `grafana-source provider` on random configurations and logs against the reference's
# provider (scripts/reference/provider_differential.py). Exit status: 0 everything
# agrees, 1 a mismatch (listed by case, step and field), 2 the campaign could not run,
# 3 the Python environment could not be made (no python3 venv, or PyPI out of reach).
#
# Usage: scripts/reference/differential.sh [OUT_DIR]   (default: target/differential)
# Environment:
#   SEEDS=N        gen-log seeds per world of the grid (default 3)
#   STEPS=N        gen-log lines after the setup (default 300)
#   DEPTH=K        the explorer's depth bound (default 7)
#   WALKS=N        simulator walks per world (default 100), ACTIONS=N actions each (default 40)
#   WORLDS="P,U,G ..."  the walks' worlds: providers, units each, Grafana units
#                  (default "2,2,2 3,1,3")
#   PROVIDER_CASES=N  random provider configurations and logs (default 300)
#   SEED_PATH=F    the reference's source text (default ../shared/seed/grafana_source_libpatch21.txt)
#   PYTHON=P       a Python 3 with ops 3.9.0 and ops-scenario 8.9.0; by default a virtual
#                  environment under target/reference-venv is made once and used
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=${1:-target/differential}
case $out in /*) ;; *) out=$root/$out ;; esac
seeds=${SEEDS:-3}
steps=${STEPS:-300}
depth=${DEPTH:-7}
walks=${WALKS:-100}
worlds=${WORLDS:-2,2,2 3,1,3}
provider_cases=${PROVIDER_CASES:-300}
actions=${ACTIONS:-40}
seed_path=${SEED_PATH:-$root/../shared/seed/grafana_source_libpatch21.txt}

if [ ! -f "$seed_path" ]; then
  echo "no reference library at $seed_path (set SEED_PATH)" >&2
  exit 2
fi

if [ -z "${PYTHON:-}" ]; then
  venv=$root/target/reference-venv
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import ops, scenario' 2>/dev/null; then
    echo "making $venv (scripts/reference/requirements.txt: ops 3.9.0 and ops-scenario 8.9.0, the versions the conformance corpus was made with)" >&2
    if ! python3 -m venv "$venv" ||
      ! "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/reference/requirements.txt; then
      echo "cannot make the Python environment $venv (python3 -m venv, pip install from PyPI)" >&2
      exit 3
    fi
  fi
  PYTHON=$venv/bin/python
fi

cargo build --release --locked --quiet --bin grafana-source --example sim_walks \
  --example fuzz_logs || exit 2
bin=$root/target/release/grafana-source

# Only what an earlier campaign made there is removed.
rm -rf "$out/logs" "$out/cases" "$out/final" "$out/provider" "$out"/*.unsupported
mkdir -p "$out/logs" "$out/cases" "$out/final"
logs=$out/logs

# gen-log over a grid of small worlds: relations x units, each seed once per profile hint
# (`verified` also makes units depart that the leader's state does not list: the reference
# raises there) and with leadership from the first line or from the end of the setup.
n=0
for relations in 1 2 3 5; do
  for units in 1 2 3; do
    for seed in $(seq 1 "$seeds"); do
      for hint in libpatch21 verified; do
        n=$((n + 1))
        lead=()
        [ $((n % 2)) -eq 0 ] && lead=(--leader-during-setup)
        "$bin" gen-log --relations $relations --units $units --steps "$steps" --seed "$seed" \
          --profile-hint $hint "${lead[@]}" >"$logs/gen-r$relations-u$units-s$seed-$hint.jsonl"
      done
    done
  done
done

# The explorer's shortest counterexamples under libpatch21: every invariant the reference
# breaks and every exception it raises, in two worlds (exit 1: one was found; 0: none).
for world in "--providers 1 --units 2 --grafana-units 2" "--providers 2 --units 1 --grafana-units 1"; do
  tag=$(echo "$world" | awk '{print "p" $2 "-u" $4 "-g" $6}')
  for target in stale-datasource delete-overlap duplicate-name hook-failed url-without-scheme \
    self-departure-deletes non-leader-write; do
    # shellcheck disable=SC2086
    "$bin" explore --profile libpatch21 --depth "$depth" $world --alphabet full \
      --invariant $target --counterexample "$logs/explore-$tag-$target.jsonl" >/dev/null || [ $? -eq 1 ] || exit 2
  done
  for error in IndexError KeyError JSONDecodeError TypeError AttributeError; do
    # shellcheck disable=SC2086
    "$bin" explore --profile libpatch21 --depth "$depth" $world --alphabet full \
      --error $error --counterexample "$logs/explore-$tag-$error.jsonl" >/dev/null || [ $? -eq 1 ] || exit 2
  done
done

# Random walks of the world simulator (the full alphabet), in each world of WORLDS: every
# Grafana unit's log, leaders and followers, with failures in them.
for world in $worlds; do
  target/release/examples/sim_walks "$logs" "$walks" "$actions" 1 "$world"
done

# The `fold` fuzz target's corpus as logs: peer data of any shape, non-object
# `extra_fields`, timeouts Python's int() rejects, odd unit names.
target/release/examples/fuzz_logs "$logs"

# The logs the project keeps.
for f in tests/profiles/*.jsonl tests/counterexamples/*.jsonl examples/*.jsonl; do
  cp "$f" "$logs/kept-$(basename "$(dirname "$f")")-$(basename "$f")"
done
for f in tests/conformance/cases/*.jsonl; do
  case $f in *.expected.jsonl) continue ;; esac
  cp "$f" "$logs/corpus-$(basename "$f")"
done

# The reference's reports, in the conformance corpus's layout.
made=0 unsupported=0 i=0
for log in "$logs"/*.jsonl; do
  [ -s "$log" ] || continue
  i=$((i + 1))
  name=$(printf '%03d-%s' $i "$(basename "$log" .jsonl)")
  set +e
  "$PYTHON" scripts/reference/harness.py --seed-path "$seed_path" "$log" \
    --final-yaml "$out/final/$name.yaml" >"$out/cases/$name.expected.jsonl" 2>"$out/cases/$name.err"
  rc=$?
  set -e
  case $rc in
    0) cp "$log" "$out/cases/$name.jsonl"; rm "$out/cases/$name.err"; made=$((made + 1)) ;;
    3) rm "$out/cases/$name.expected.jsonl"; mv "$out/cases/$name.err" "$out/$name.unsupported"
       unsupported=$((unsupported + 1)) ;;
    *) echo "the harness failed on $log:" >&2; cat "$out/cases/$name.err" >&2; exit 2 ;;
  esac
done
lines=$(cat "$out"/cases/*.expected.jsonl | wc -l)
echo "reference reports: $made logs, $lines steps ($unsupported left out, with no single answer or not representable: $out/*.unsupported)" >&2

cargo test --release --locked --quiet --test conformance --no-run 2>/dev/null || exit 2
status=0
CONFORMANCE_DIR="$out/cases" cargo test --release --locked --quiet \
  --test conformance extra_dir_from_env_conforms_under_libpatch21 || status=1

# The provisioning file after each log: `grafana-source render` against the charm's own
# `yaml.dump` of the reference's final render, both read by PyYAML.
rc=0
"$PYTHON" scripts/reference/yaml_differential.py --bin "$bin" "$out/cases" "$out/final" || rc=$?
case $rc in
  0) ;;
  1) status=1 ;;
  *) exit 2 ;;
esac

# The provider side: `grafana-source provider` against the reference's provider.
rc=0
"$PYTHON" scripts/reference/provider_differential.py --bin "$bin" --cases "$provider_cases" \
  --out "$out/provider" --seed-path "$seed_path" || rc=$?
case $rc in
  0) ;;
  1) status=1 ;;
  *) exit 2 ;;
esac
exit $status
