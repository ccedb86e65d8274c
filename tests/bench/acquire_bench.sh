#!/usr/bin/env bash
# acquire_bench.sh - throughput and memory benchmark of custody-acquire against
# the usual forensic imagers (dc3dd, dcfldd, ewfacquire) and the plain hashing
# ceiling (openssl dgst).  It only reports: the exit status is 0 unless the
# script itself failed or custody-acquire produced a wrong image/hash.
#
# See tests/bench/README.md for what is measured and how to read the numbers.
set -euo pipefail

prog=${0##*/}
script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd -- "$script_dir/../.." && pwd)

# Input layout: RAND_RUN bytes of pseudo-random data, then ZERO_RUN zero bytes,
# repeated until SIZE (the last run is cut short).
readonly RAND_RUN=$((64 * 1024 * 1024))
readonly ZERO_RUN=$((16 * 1024 * 1024))
# Targets (see the issue): custody(md5,sha1,sha256) >= 2.5x ewfacquire and
# dc3dd; custody(sha256) >= 0.85x openssl dgst -sha256; peak RSS < 256 MiB.
readonly TARGET_VS_IMAGERS=2.5
readonly TARGET_VS_OPENSSL=0.85
readonly TARGET_RSS_MIB=256
# AFF4 (issue 3): acquisition >= 6x ewfacquire -c fast and >= 0.8x custody's raw acquisition with
# the same hashes; verification >= 0.8x openssl dgst of the same algorithms, in parallel.
readonly TARGET_AFF4_VS_EWF_FAST=6
readonly TARGET_AFF4_VS_RAW=0.8
readonly TARGET_VERIFY_VS_OPENSSL=0.8

usage() {
    cat <<EOF
Usage: $prog [--size SIZE] [--dir DIR] [--bin DIR] [--runs N] [--stat median|best]

Benchmarks custody-acquire against dc3dd, dcfldd, ewfacquire and openssl dgst
on one page-cached input file, and checks the custody targets.

Options:
  --size SIZE   input size; plain bytes or K, M, G, T suffix (powers of 1024)
                (default 2G). The scratch filesystem needs about 2x SIZE free.
  --dir DIR     create the scratch directory (a fresh mktemp -d) under DIR;
                it is removed at the end (default /var/tmp)
  --bin DIR     directory holding custody-acquire
                (default $repo_root/build/release/tools)
  --runs N      timed runs per tool (default 3)
  --stat S      which of the N wall times is reported: median (default) or best
  -h, --help    show this help

Examples:
  $prog                          # 2 GiB input, median of 3 runs
  $prog --size 256M --runs 1     # quick smoke test
  $prog --dir /mnt/nvme --stat best
EOF
}

die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 2; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

parse_size() { # SIZE -> bytes on stdout
    local s=$1 num unit mult
    if [[ ! $s =~ ^([0-9]+)([KkMmGgTt]?)$ ]]; then
        return 1
    fi
    num=$((10#${BASH_REMATCH[1]}))
    unit=${BASH_REMATCH[2]^^}
    case $unit in
        '') mult=1 ;;
        K) mult=1024 ;;
        M) mult=$((1024 ** 2)) ;;
        G) mult=$((1024 ** 3)) ;;
        T) mult=$((1024 ** 4)) ;;
    esac
    ((num > 0)) || return 1
    printf '%d\n' $((num * mult))
}

# ---------------------------------------------------------------- options
size_arg=2G
parent_dir=/var/tmp
bin_dir=$repo_root/build/release/tools
runs=3
stat=median
while (($# > 0)); do
    case $1 in
        --size) [[ $# -ge 2 ]] || die "--size needs a value"; size_arg=$2; shift 2 ;;
        --size=*) size_arg=${1#*=}; shift ;;
        --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; parent_dir=$2; shift 2 ;;
        --dir=*) parent_dir=${1#*=}; shift ;;
        --bin) [[ $# -ge 2 ]] || die "--bin needs a value"; bin_dir=$2; shift 2 ;;
        --bin=*) bin_dir=${1#*=}; shift ;;
        --runs) [[ $# -ge 2 ]] || die "--runs needs a value"; runs=$2; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        --stat) [[ $# -ge 2 ]] || die "--stat needs a value"; stat=$2; shift 2 ;;
        --stat=*) stat=${1#*=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

size=$(parse_size "$size_arg") || die "bad --size '$size_arg' (use e.g. 256M, 2G or plain bytes)"
if [[ ! $runs =~ ^[0-9]+$ ]] || ((10#$runs < 1)); then
    die "bad --runs '$runs' (a positive integer)"
fi
runs=$((10#$runs))
[[ $stat == median || $stat == best ]] || die "bad --stat '$stat' (median or best)"
[[ -d $parent_dir ]] || die "--dir $parent_dir is not a directory"

# ---------------------------------------------------------------- requirements
if [[ ! -x /usr/bin/time ]] || ! /usr/bin/time --version 2>&1 | grep -q 'GNU'; then
    die "GNU time (/usr/bin/time) is required: apt-get install -y time"
fi
command -v openssl >/dev/null || die "openssl is required (input generation, reference hashes)"

custody=$bin_dir/custody-acquire
have_custody=0
[[ -x $custody ]] && have_custody=1

# ---------------------------------------------------------------- scratch dir
work=
trap '[[ -z $work || ! -d $work ]] || rm -rf -- "$work"' EXIT
trap 'exit 130' INT TERM HUP

work=$(mktemp -d "$parent_dir/custody-bench.XXXXXX")
input=$work/input.bin

need_kib=$(((2 * size + 64 * 1024 * 1024) / 1024))
avail_kib=$(df -Pk -- "$work" | awk 'NR == 2 { print $4 }')
((avail_kib >= need_kib)) ||
    die "not enough space in $parent_dir: need $((need_kib / 1024)) MiB (2x size), have $((avail_kib / 1024)) MiB"
mem_avail_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
if ((mem_avail_kib < 3 * size / 1024)); then
    note "warning: MemAvailable ($((mem_avail_kib / 1024)) MiB) < 3x size; the input may not stay in the page cache"
fi

# ---------------------------------------------------------------- helpers
sync_scratch() { sync -f -- "$work" 2>/dev/null || sync; }

clean_outputs() {
    rm -f -- "$work"/c.* "$work"/d.raw "$work"/f.raw "$work"/e.E* "$work"/e.e*
}

resident_pct() { # FILE -> percentage of FILE in the page cache, or "?"
    local res
    if command -v fincore >/dev/null &&
        res=$(fincore -b -n -o RES -- "$1" 2>/dev/null) && [[ $res =~ ^[[:space:]]*[0-9]+[[:space:]]*$ ]]; then
        awk -v r="$res" -v s="$size" 'BEGIN { printf "%.0f%%", 100 * r / s }'
    else
        printf '?'
    fi
}

ref_hash() { # ALG FILE -> lowercase hex
    openssl dgst -r "-$1" -- "$2" | awk '{ print $1 }'
}

json_hash() { # JSONFILE ALG -> value of .hashes[ALG], or empty
    if command -v jq >/dev/null; then
        jq -r --arg a "$2" '.hashes[$a] // empty' -- "$1" 2>/dev/null || true
    elif command -v python3 >/dev/null; then
        python3 -c 'import json, sys
try:
    print(json.load(open(sys.argv[1]))["hashes"].get(sys.argv[2], ""))
except Exception:
    pass' "$1" "$2" || true
    else
        # Fallback: first "ALG": "hex" pair; the top-level "hashes" object
        # precedes "image" (and its per-segment hashes) in the record.
        { grep -o "\"$2\"[[:space:]]*:[[:space:]]*\"[0-9a-fA-F]*\"" -- "$1" || true; } |
            head -n 1 | sed 's/.*"\([0-9a-fA-F]*\)"$/\1/'
    fi
}

mismatch=0
loud_mismatch() {
    printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
    printf '!!! MISMATCH: %s\n' "$*"
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n'
    printf '%s: MISMATCH: %s\n' "$prog" "$*" >&2
    mismatch=1
}

# ---------------------------------------------------------------- tools
keys=(custody-all custody-sha256 custody-aff4 custody-verify dc3dd dcfldd ewfacquire ewfacquire-fast
    openssl-sha256 openssl-md5 openssl-parallel)
declare -A label=(
    [custody-all]="custody-acquire raw md5,sha1,sha256"
    [custody-sha256]="custody-acquire raw sha256"
    [custody-aff4]="custody-acquire AFF4 snappy md5,sha1,sha256"
    [custody-verify]="custody-verify AFF4 md5,sha1,sha256"
    [ewfacquire-fast]="ewfacquire E01 -c fast md5,sha1,sha256"
    [openssl-parallel]="openssl dgst md5 & sha1 & sha256 (3 procs)"
    [dc3dd]="dc3dd md5+sha1+sha256"
    [dcfldd]="dcfldd md5,sha1,sha256 bs=1M"
    [ewfacquire]="ewfacquire E01 -c none md5,sha1,sha256"
    [openssl-sha256]="openssl dgst -sha256 (hash only)"
    [openssl-md5]="openssl dgst -md5 (hash only)"
)

available() { # KEY
    case $1 in
        custody-*) ((have_custody)) ;;
        openssl-*) command -v openssl >/dev/null ;;
        ewfacquire-*) command -v ewfacquire >/dev/null ;;
        *) command -v "$1" >/dev/null ;;
    esac
}

# The three reference hashes at once, one process each ($1 expands in the inner shell).
# shellcheck disable=SC2016
parallel_dgst='openssl dgst -md5 "$1" >/dev/null & openssl dgst -sha1 "$1" >/dev/null & openssl dgst -sha256 "$1" >/dev/null & wait'

cmd=()
set_cmd() { # KEY -> global array cmd
    case $1 in
        custody-all) cmd=("$custody" "$input" -o "$work/c" --format raw --hash "md5,sha1,sha256" --force -q) ;;
        custody-sha256) cmd=("$custody" "$input" -o "$work/c" --format raw --hash sha256 --force -q) ;;
        custody-aff4) cmd=("$custody" "$input" -o "$work/c" --hash "md5,sha1,sha256" --force -q) ;;
        # verifies the container made (untimed) by the correctness step
        custody-verify) cmd=("$bin_dir/custody-verify" -q "$work/v.aff4") ;;
        ewfacquire-fast) cmd=(ewfacquire -u -q -t "$work/e" -c fast -d "sha1,sha256" -f encase6 "$input") ;;
        openssl-parallel) cmd=(bash -c "$parallel_dgst" _ "$input") ;;
        # dc3dd reports on stderr even with log=; stderr goes to a log file.
        dc3dd) cmd=(dc3dd "if=$input" "of=$work/d.raw" hash=md5 hash=sha1 hash=sha256 log=/dev/null) ;;
        dcfldd) cmd=(dcfldd "if=$input" "of=$work/f.raw" "hash=md5,sha1,sha256" bs=1M status=off) ;;
        # -u unattended (no prompts); ewfacquire always computes md5, -d adds the others.
        ewfacquire) cmd=(ewfacquire -u -q -t "$work/e" -c none -d "sha1,sha256" -f encase6 "$input") ;;
        openssl-sha256) cmd=(openssl dgst -sha256 "$input") ;;
        openssl-md5) cmd=(openssl dgst -md5 "$input") ;;
        *) die "internal: unknown tool key $1" ;;
    esac
}

tool_version() { # KEY
    local v
    case $1 in
        custody-*) v=$("$custody" -V 2>&1 | head -n 1) || true ;;
        dc3dd) v=$(dc3dd --version 2>&1 | head -n 1) || true ;;
        dcfldd) v=$(dcfldd --version 2>&1 | head -n 1) || true ;;
        ewfacquire*) v=$(ewfacquire -V 2>&1 | head -n 1) || true ;;
        openssl-*) v=$(openssl version 2>&1 | awk 'NR == 1 { print $1, $2 }') || true ;;
    esac
    printf '%s' "${v:-?}"
}

declare -A secs_list=() rss_list=() status=()

timed_run() { # KEY RUN
    local key=$1 run=$2 rc=0 line s m
    local tf=$work/time.$key out=$work/$key.out err=$work/$key.err
    set_cmd "$key"
    clean_outputs
    sync_scratch
    /usr/bin/time -f '%e %M' -o "$tf" -- "${cmd[@]}" >"$out" 2>"$err" || rc=$?
    clean_outputs
    if ((rc != 0)); then
        status[$key]="FAILED (exit $rc)"
        note "${label[$key]}: run $run failed with exit $rc; command: ${cmd[*]}"
        if [[ -s $err ]]; then
            tail -n 5 -- "$err" | sed 's/^/    /' >&2
        fi
        return 0
    fi
    # GNU time prefixes a "Command exited ..." line on failure; the format
    # line is always the last one.
    line=$(tail -n 1 -- "$tf")
    read -r s m <<<"$line"
    [[ $s =~ ^[0-9.]+$ && $m =~ ^[0-9]+$ ]] || die "cannot parse GNU time output '$line' for $key"
    secs_list[$key]+="$s "
    rss_list[$key]+="$m "
    note "$(printf '  run %d/%d  %-40s %8.2f s  %8.1f MiB' "$run" "$runs" "${label[$key]}" "$s" \
        "$(awk -v k="$m" 'BEGIN { print k / 1024 }')")"
}

pick_secs() { # "t1 t2 ..." -> median or best
    tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk -v stat="$stat" '
        { v[NR] = $1 }
        END {
            if (NR == 0) exit 1
            if (stat == "best") { print v[1]; exit }
            if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

max_of() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | tail -n 1; }

# ---------------------------------------------------------------- header
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
sha_ni=no
grep -qw sha_ni /proc/cpuinfo && sha_ni=yes
aes_ni=no
grep -qw aes /proc/cpuinfo && aes_ni=yes
fs_type=$(df -PT -- "$work" | awk 'NR == 2 { print $2 }')
read -r load1 _ </proc/loadavg

echo "custody acquire benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host      $(uname -srm); ${cpu_model:-unknown CPU}; $(nproc) CPUs; sha_ni=$sha_ni aes=$aes_ni; loadavg(1m) $load1"
echo "scratch   $work ($fs_type)"
echo "input     $size bytes ($size_arg): ${RAND_RUN}-byte random runs (AES-128-CTR keystream) alternating with ${ZERO_RUN}-byte zero runs"
echo "timing    $runs run(s) per tool, runs interleaved across tools; seconds = $stat wall time (GNU time %e);"
echo "          peak RSS = largest max-RSS over the runs (GNU time %M); MB/s = 1e6 bytes per second"
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > 0.5 * n) }'; then
    echo "WARNING   load average $load1 on $(nproc) CPUs: other work is running, results will be noisy"
fi
echo

# ---------------------------------------------------------------- input
note "generating $size-byte input in $input ..."
{
    remaining=$size
    i=0
    while ((remaining > 0)); do
        n=$((remaining < RAND_RUN ? remaining : RAND_RUN))
        # openssl dies of SIGPIPE when head has enough; that is expected.
        { openssl enc -aes-128-ctr -pass "pass:bench$i" -nosalt </dev/zero 2>/dev/null || true; } | head -c "$n"
        remaining=$((remaining - n))
        i=$((i + 1))
        ((remaining > 0)) || break
        n=$((remaining < ZERO_RUN ? remaining : ZERO_RUN))
        head -c "$n" /dev/zero
        remaining=$((remaining - n))
    done
} >"$input"
got=$(stat -c %s -- "$input")
((got == size)) || die "input generation produced $got bytes, expected $size"
cat -- "$input" >/dev/null
echo "page cache: input $(resident_pct "$input") resident before the runs"

# ---------------------------------------------------------------- correctness
echo
if ((have_custody)); then
    note "verifying custody-acquire once (untimed): hashes vs openssl dgst, image vs input ..."
    vrc=0
    "$custody" "$input" -o "$work/c" --format raw --hash md5,sha1,sha256 --force --json \
        >"$work/verify.json" 2>"$work/verify.err" || vrc=$?
    if ((vrc != 0)); then
        loud_mismatch "custody-acquire exited $vrc on the verification run"
        sed 's/^/    /' -- "$work/verify.err"
    else
        records=()
        [[ -s $work/verify.json ]] && records+=("$work/verify.json")
        [[ -s $work/c.acquisition.json ]] && records+=("$work/c.acquisition.json")
        ((${#records[@]} > 0)) || loud_mismatch "custody-acquire --json printed nothing and wrote no $work/c.acquisition.json"
        for alg in sha256 md5 sha1; do
            want=$(ref_hash "$alg" "$input")
            for rec in "${records[@]}"; do
                got=$(json_hash "$rec" "$alg")
                got=${got,,}
                if [[ $got == "$want" ]]; then
                    echo "verify    $alg  $got  ok  (${rec##*/} = openssl dgst -$alg)"
                else
                    loud_mismatch "$alg in ${rec##*/} is '${got:-<missing>}', openssl dgst -$alg says $want"
                fi
            done
        done
        if [[ ! -f $work/c.raw ]]; then
            loud_mismatch "custody-acquire wrote no image $work/c.raw"
        elif cmp -s -- "$input" "$work/c.raw"; then
            echo "verify    image c.raw is byte-identical to the input  ok"
        else
            loud_mismatch "image c.raw differs from the input ($(cmp -- "$input" "$work/c.raw" 2>&1 | head -n 1 || true))"
        fi
    fi
    clean_outputs
    # The container the timed custody-verify runs check; it must verify and export exactly.
    "$custody" "$input" -o "$work/v" --hash md5,sha1,sha256 --force -q ||
        loud_mismatch "custody-acquire (AFF4) failed"
    if "$bin_dir/custody-export" -q "$work/v.aff4" -o - | cmp -s -- - "$input"; then
        echo "verify    AFF4 container v.aff4 exports byte-identical to the input  ok"
    else
        loud_mismatch "the AFF4 container does not export to the input"
    fi
    if ((mismatch)); then
        echo "custody-acquire produced wrong output; not benchmarking it." >&2
        exit 1
    fi
else
    echo "verify    skipped: custody-acquire not found at $custody"
fi
echo

# ---------------------------------------------------------------- timed runs
for key in "${keys[@]}"; do
    if available "$key"; then
        status[$key]=ok
    else
        status[$key]="not installed"
        note "${label[$key]}: not installed, skipped"
    fi
done

for ((r = 1; r <= runs; r++)); do
    for key in "${keys[@]}"; do
        [[ ${status[$key]} == ok ]] || continue
        timed_run "$key" "$r"
    done
done
echo "page cache: input $(resident_pct "$input") resident after the runs"
echo

# ---------------------------------------------------------------- table
declare -A secs=() mbps=() rss_mib=()
printf '%-42s %9s %9s %13s  %s\n' "tool" "MB/s" "seconds" "peak RSS MiB" "version"
printf '%-42s %9s %9s %13s  %s\n' "----" "----" "-------" "------------" "-------"
for key in "${keys[@]}"; do
    if [[ ${status[$key]} != ok ]]; then
        printf '%-42s %9s %9s %13s  %s\n' "${label[$key]}" "-" "-" "-" "${status[$key]}"
        continue
    fi
    secs[$key]=$(pick_secs "${secs_list[$key]}")
    mbps[$key]=$(awk -v b="$size" -v s="${secs[$key]}" 'BEGIN { if (s < 0.01) s = 0.01; printf "%.1f", b / s / 1e6 }')
    rss_mib[$key]=$(awk -v k="$(max_of "${rss_list[$key]}")" 'BEGIN { printf "%.1f", k / 1024 }')
    printf '%-42s %9s %9.2f %13s  %s\n' "${label[$key]}" "${mbps[$key]}" "${secs[$key]}" "${rss_mib[$key]}" \
        "$(tool_version "$key")"
done
echo

# ---------------------------------------------------------------- ratios
have() { [[ ${status[$1]} == ok ]]; }

ratio_line() { # NAME NUM_KEY DEN_KEY [TARGET]
    local name=$1 a=$2 b=$3 target=${4:-} ratio verdict
    if ! have "$a" || ! have "$b"; then
        local why=
        have "$a" || why="${label[$a]}: ${status[$a]}"
        have "$b" || why="${why:+$why; }${label[$b]}: ${status[$b]}"
        if [[ -n $target ]]; then
            printf '%-46s %8s   target >= %.2fx  %s\n' "$name" "n/a" "$target" "n/a ($why)"
        else
            printf '%-46s %8s   %s\n' "$name" "n/a" "($why)"
        fi
        return 0
    fi
    # throughput ratio = peer seconds / custody seconds
    ratio=$(awk -v x="${secs[$a]}" -v y="${secs[$b]}" \
        'BEGIN { if (x < 0.01) x = 0.01; if (y < 0.01) y = 0.01; printf "%.4f", y / x }')
    if [[ -n $target ]]; then
        verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t) ? "PASS" : "MISS" }')
        printf '%-46s %7.2fx   target >= %.2fx  %s\n' "$name" "$ratio" "$target" "$verdict"
    else
        printf '%-46s %7.2fx   (informational)\n' "$name" "$ratio"
    fi
}

echo "ratios (throughput, custody / peer)"
ratio_line "custody(md5,sha1,sha256) / ewfacquire" custody-all ewfacquire "$TARGET_VS_IMAGERS"
ratio_line "custody(md5,sha1,sha256) / dc3dd" custody-all dc3dd "$TARGET_VS_IMAGERS"
ratio_line "custody(md5,sha1,sha256) / dcfldd" custody-all dcfldd
ratio_line "custody(sha256) / openssl dgst -sha256" custody-sha256 openssl-sha256 "$TARGET_VS_OPENSSL"
ratio_line "custody(md5,sha1,sha256) / openssl dgst -md5" custody-all openssl-md5
ratio_line "custody AFF4 / ewfacquire -c fast" custody-aff4 ewfacquire-fast "$TARGET_AFF4_VS_EWF_FAST"
ratio_line "custody AFF4 / custody raw (same hashes)" custody-aff4 custody-all "$TARGET_AFF4_VS_RAW"
ratio_line "custody-verify AFF4 / openssl x3 in parallel" custody-verify openssl-parallel "$TARGET_VERIFY_VS_OPENSSL"
# MD5 cannot be parallelised within one stream, so no tool computing md5 can
# beat openssl dgst -md5 here: these are the best ratios reachable on this host.
ratio_line "ceiling: openssl dgst -md5 / ewfacquire" openssl-md5 ewfacquire
ratio_line "ceiling: openssl dgst -md5 / dc3dd" openssl-md5 dc3dd
if have custody-all || have custody-sha256; then
    peak=0
    for key in custody-all custody-sha256; do
        have "$key" || continue
        peak=$(awk -v a="$peak" -v b="${rss_mib[$key]}" 'BEGIN { print (b > a) ? b : a }')
    done
    verdict=$(awk -v p="$peak" -v t="$TARGET_RSS_MIB" 'BEGIN { print (p < t) ? "PASS" : "MISS" }')
    printf '%-46s %5.1f MiB  target < %d MiB   %s\n' "custody-acquire peak RSS (max over runs)" "$peak" \
        "$TARGET_RSS_MIB" "$verdict"
else
    printf '%-46s %8s   target < %d MiB   %s\n' "custody-acquire peak RSS (max over runs)" "n/a" \
        "$TARGET_RSS_MIB" "n/a (custody-acquire: ${status[custody-all]})"
fi

for key in custody-all custody-sha256; do
    if [[ ${status[$key]} == FAILED* ]]; then
        echo
        echo "${label[$key]} ${status[$key]} during the timed runs" >&2
        exit 1
    fi
done
exit 0
