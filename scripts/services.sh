#!/usr/bin/env bash
# Real services for the integration tests, started from package registries only
# (Debian, Maven Central, PyPI; TerminusDB is built from the sources in vendor/), on
# 127.0.0.1, on free ports.
#
#   scripts/services.sh up [NAME...]   start (default: all of postgres kafka opensearch
#                                      elasticsearch s3 terminusdb) and wait until each
#                                      answers (TerminusDB is built from vendor/ once);
#                                      already running: kept
#   scripts/services.sh env            print `export SPICE_TEST_...` lines for the running ones
#   scripts/services.sh down [NAME...] stop (default: everything) this script started, and
#                                      only that; their data is thrown away
#   scripts/services.sh status         one line per service
#   scripts/services.sh stop NAME...   stop running services but keep their data and ports
#   scripts/services.sh start NAME...  start stopped services again on the SAME port with the
#                                      data they had (outage tests); never started: use `up`
#
# Runtime state (data, logs, pid and port files) lives under $SPICE_SERVICES_STATE
# (default: <repo>/.services); downloads are cached under $SPICE_SERVICES_CACHE
# (default: ~/.cache/spice-services) and ~/.m2, so a second `up` fetches nothing.
# $SPICE_SERVICES_TIMEOUT caps the wait for one service to answer (default 180 s).
set -Eeuo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
HELPERS="$SCRIPT_DIR/services"
STATE="${SPICE_SERVICES_STATE:-$REPO_ROOT/.services}"
CACHE="${SPICE_SERVICES_CACHE:-$HOME/.cache/spice-services}"
TIMEOUT="${SPICE_SERVICES_TIMEOUT:-180}"
ALL_SERVICES=(postgres kafka opensearch elasticsearch s3 terminusdb)
# Relative paths would change meaning with the caller's cwd: pin them now.
[[ "$STATE" == /* ]] || STATE="$PWD/$STATE"
[[ "$CACHE" == /* ]] || CACHE="$PWD/$CACHE"

# Nothing here may wait for a keyboard: CI runs us with no stdin.
exec </dev/null
export DEBIAN_FRONTEND=noninteractive

trap 'echo "[services] failed: \"$BASH_COMMAND\" (line $LINENO)" >&2' ERR

say() { echo "[services] $*" >&2; }
die() { echo "[services] error: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# shared plumbing
# ---------------------------------------------------------------------------

# Any Python 3 runs the stdlib-only probe.py; the project's venv is a fallback.
python_cmd() {
    if command -v python3 >/dev/null 2>&1; then echo python3
    elif [[ -x "$REPO_ROOT/.venv/bin/python" ]]; then echo "$REPO_ROOT/.venv/bin/python"
    else die "no python3 found"; fi
}
probe() { "$(python_cmd)" "$HELPERS/probe.py" "$@"; }
free_port() { probe free-port; }

# A short hash of some files, to name cache folders: a changed pom or launcher
# gets a fresh folder instead of stale jars.
files_hash() { cat "$@" | sha256sum | cut -c1-12; }

APT_UPDATED=0
apt_install() {
    [[ "$(id -u)" == 0 ]] || die "need root to apt-get install $*; install it by hand"
    if [[ "$APT_UPDATED" == 0 ]]; then
        say "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Java 17: Kafka 4.x brokers need 17+, OpenSearch 2.19 runs on 17 (and 3.x would need
# 21). Prefer Debian's 17 explicitly so that a JAVA_HOME or PATH pointing at a newer
# JDK does not change what the tests run against.
java_home() {
    local candidate
    for candidate in "${SPICE_SERVICES_JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-*; do
        if [[ -n "$candidate" && -x "$candidate/bin/java" && -x "$candidate/bin/javac" ]]; then
            echo "$candidate"; return 0
        fi
    done
    if command -v javac >/dev/null 2>&1; then
        dirname "$(dirname "$(readlink -f "$(command -v javac)")")"; return 0
    fi
    return 1
}

ensure_java_and_maven() {
    java_home >/dev/null || apt_install openjdk-17-jdk-headless
    command -v mvn >/dev/null 2>&1 || apt_install maven
    JAVA_HOME="$(java_home)" || die "no JDK found even after installing openjdk-17-jdk-headless"
    export JAVA_HOME
    JAVA="$JAVA_HOME/bin/java"
}

# `mvn dependency:copy-dependencies` of one of our poms into DEST/lib, once.
# Maven's local repository is not safe for two concurrent writers, so fetches
# from services started in parallel take turns.
fetch_jars() {
    local pom="$1" dest="$2"
    [[ -f "$dest/.complete" ]] && return 0
    mkdir -p "$CACHE"
    (
        flock 9
        [[ -f "$dest/.complete" ]] && exit 0
        rm -rf "$dest" && mkdir -p "$dest"
        say "fetching $(basename "$(dirname "$pom")") jars from Maven Central (once)"
        if ! mvn -B -q -ntp -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
                -DincludeScope=runtime -DoutputDirectory="$dest/lib" \
                >"$dest/mvn.log" 2>&1; then
            tail -n 40 "$dest/mvn.log" >&2
            die "maven could not fetch the jars of $pom"
        fi
        touch "$dest/.complete"
    ) 9>"$CACHE/maven.lock"
}

# Start a daemon in its own session (so `down` can signal its whole process group
# and a Ctrl-C on the caller does not reach it), stdin/stdout/stderr detached so that
# `$(scripts/services.sh up)` or a pipe never waits for it. Writes its pid to PIDFILE.
# The lock descriptors are closed so that a daemon never holds our locks.
detach() {
    local pidfile="$1" logfile="$2"; shift 2
    # shellcheck disable=SC2016  # $$ and $@ belong to the inner bash
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
        </dev/null >>"$logfile" 2>&1 8>&- 9>&- &
    local i
    for i in $(seq 50); do [[ -s "$pidfile" ]] && return 0; sleep 0.1; done
    die "could not start $1"
}

# Is PID alive and really the process we started (its command line holds MARK)?
# Guards against a stale pid file whose pid now belongs to someone else.
is_ours() {
    local pid="$1" mark="$2"
    local cmdline
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$mark"* ]]
}

svc_dir() { echo "$STATE/$1"; }
svc_pid() {
    if [[ "$1" == postgres ]]; then
        # The server's own pid file: right even if `up` was interrupted before ours.
        head -n 1 "$(cat "$(svc_dir postgres)/datadir" 2>/dev/null)/postmaster.pid" 2>/dev/null || true
    else
        cat "$(svc_dir "$1")/pid" 2>/dev/null || true
    fi
}
svc_port() { cat "$(svc_dir "$1")/port" 2>/dev/null || true; }
svc_log() { echo "$(svc_dir "$1")/$1.log"; }

# The string that must appear in the service's command line (see is_ours).
svc_mark() {
    case "$1" in
        postgres) cat "$(svc_dir postgres)/datadir" 2>/dev/null || echo "//none//" ;;
        s3) echo "moto_server -H 127.0.0.1 -p $(svc_port s3)" ;;
        terminusdb) echo "$(terminusdb_bin) serve" ;;
        *) svc_dir "$1" ;;
    esac
}

is_running() { is_ours "$(svc_pid "$1")" "$(svc_mark "$1")"; }

# Poll CHECK... until it succeeds; fail early if the process died, or after $TIMEOUT s.
wait_until_answers() {
    local name="$1"; shift
    local deadline=$((SECONDS + TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if ! is_running "$name"; then
            fail_with_log "$name" "exited before it answered"
        fi
        if ((SECONDS >= deadline)); then
            # Running but deaf is no use to anyone: stop it rather than leave it behind.
            ("down_$name") >/dev/null 2>&1 || true
            fail_with_log "$name" "did not answer within ${TIMEOUT}s (stopped it)"
        fi
        sleep 0.5
    done
}

# Say what failed, with the end of each of its logs (stdout of the process, and the
# JVMs' own log files), then end this (sub)shell.
fail_with_log() {
    local name="$1" why="$2" dir log
    dir="$(svc_dir "$name")"
    echo "[services] error: $name $why" >&2
    for log in "$dir"/*.log "$dir"/home/logs/*.log; do
        [[ -s "$log" ]] || continue
        echo "[services] last lines of $log:" >&2
        tail -n 30 "$log" | sed 's/^/    /' >&2
    done
    exit 1
}

# SIGTERM to the process group, then SIGKILL after a grace period. Returns once gone.
stop_group() {
    local name="$1" pid="$2" grace="${3:-30}" i
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 5; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    say "$name did not stop within ${grace}s: killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

# ---------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster of Debian's server binaries, run as `postgres`
# ---------------------------------------------------------------------------

pg_bindir() {
    local dir
    dir="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then echo "$dir"; return 0; fi
    command -v initdb >/dev/null 2>&1 || return 1
    dirname "$(readlink -f "$(command -v initdb)")"
}

prepare_postgres() {
    pg_bindir >/dev/null || apt_install postgresql
    pg_bindir >/dev/null || die "initdb not found even after installing postgresql"
}

# initdb and the server refuse to run as root: run them as the `postgres` user that
# Debian's package creates. Everything else in this script may stay root.
as_pg() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

up_postgres() {
    local dir port bin data
    dir="$(svc_dir postgres)"
    bin="$(pg_bindir)"
    mkdir -p "$dir"
    data="$dir/data"
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' user: apt-get install postgresql creates it"
        chown postgres: "$dir"
        # The server runs as `postgres`; if it cannot reach the state folder (a home
        # directory with mode 700, say), keep its data in a private temp folder instead.
        if ! as_pg test -w "$dir"; then
            data="$(mktemp -d "${TMPDIR:-/tmp}/spice-postgres.XXXXXX")/data"
            chown postgres: "$(dirname "$data")"
        fi
    fi
    echo "$data" >"$dir/datadir"
    # A fresh cluster each start: tests create their own databases, nothing is kept.
    rm -rf "$data"
    : >"$(svc_log postgres)"
    if [[ "$(id -u)" == 0 ]]; then chown postgres: "$(svc_log postgres)"; fi
    as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
        >>"$(svc_log postgres)" 2>&1 || fail_with_log postgres "initdb failed"

    port="$(free_port)"
    echo "$port" >"$dir/port"
    launch_postgres
}

# Starts the cluster of the datadir file on the port of the port file.
launch_postgres() {
    local bin data port
    bin="$(pg_bindir)"
    data="$(cat "$(svc_dir postgres)/datadir")"
    port="$(svc_port postgres)"
    # TCP on loopback only, no unix socket (its path length limit bites deep folders).
    # fsync off and friends: the data is thrown away, and tests run faster.
    as_pg "$bin/pg_ctl" -D "$data" -l "$(svc_log postgres)" -w -t 60 start -o \
        "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
         -c max_connections=300" \
        >/dev/null 2>&1 8>&- 9>&- || fail_with_log postgres "did not start"
    wait_until_answers postgres answers_postgres "$port"
}

answers_postgres() {
    local bin
    bin="$(pg_bindir)"
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres &&
        [[ "$("$bin/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -XAtqc 'select 1')" == 1 ]]
}

down_postgres() {
    local data
    data="$(cat "$(svc_dir postgres)/datadir")"
    as_pg "$(pg_bindir)/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
        stop_group postgres "$(svc_pid postgres)"
}

clean_postgres() {
    local data
    data="$(cat "$(svc_dir postgres)/datadir" 2>/dev/null || true)"
    [[ -n "$data" ]] || return 0
    rm -rf "$data"
    # the private temp folder of the fallback above
    [[ "$(basename "$(dirname "$data")")" == spice-postgres.* ]] && rm -rf "$(dirname "$data")"
    return 0
}

env_postgres() { echo "export SPICE_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$1/postgres"; }

# ---------------------------------------------------------------------------
# Kafka 4.x: a single KRaft node (broker + controller) from Maven Central jars
# ---------------------------------------------------------------------------

KAFKA_POM="$HELPERS/kafka/pom.xml"
kafka_cache() { echo "$CACHE/kafka-$(files_hash "$KAFKA_POM")"; }

prepare_kafka() { ensure_java_and_maven; }

up_kafka() {
    local dir port controller_port lib
    dir="$(svc_dir kafka)"
    fetch_jars "$KAFKA_POM" "$(kafka_cache)"
    lib="$(kafka_cache)/lib"
    mkdir -p "$dir"
    rm -rf "$dir/data"
    : >"$(svc_log kafka)"
    : >"$dir/server.log"
    port="$(free_port)"
    controller_port="$(free_port)"
    [[ "$port" != "$controller_port" ]] || controller_port="$(free_port)"
    sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" \
        -e "s|@DATA_DIR@|$dir/data|g" "$HELPERS/kafka/server.properties.in" \
        >"$dir/server.properties"
    echo "$port" >"$dir/port"

    kafka_jvm_options
    local jvm=("${KAFKA_JVM[@]}" -cp "$lib/*")
    # KRaft needs its log dir formatted with a cluster id before the first start.
    "$JAVA" "${jvm[@]}" kafka.tools.StorageTool format \
        --cluster-id="$(probe kafka-cluster-id)" -c "$dir/server.properties" \
        >>"$(svc_log kafka)" 2>&1 || fail_with_log kafka "storage format failed"
    launch_kafka
}

# The broker's JVM options, into the array KAFKA_JVM.
kafka_jvm_options() {
    KAFKA_JVM=(-Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
        -Djava.awt.headless=true -Dkafka.logs.dir="$(svc_dir kafka)"
        -Dlog4j2.configurationFile="$HELPERS/kafka/log4j2.xml")
}

# Starts the broker of the server.properties in the state folder (its port, its data).
launch_kafka() {
    local dir
    dir="$(svc_dir kafka)"
    kafka_jvm_options
    rm -f "$dir/pid"
    detach "$dir/pid" "$(svc_log kafka)" "$JAVA" "${KAFKA_JVM[@]}" \
        -cp "$(kafka_cache)/lib/*" kafka.Kafka "$dir/server.properties"
    wait_until_answers kafka answers_kafka "$(svc_port kafka)"
}

answers_kafka() { probe kafka "127.0.0.1:$1"; }

down_kafka() { stop_group kafka "$(svc_pid kafka)" 60; }
clean_kafka() { rm -rf "$(svc_dir kafka)/data"; }
env_kafka() { echo "export SPICE_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$1"; }

# ---------------------------------------------------------------------------
# OpenSearch 2.19: one node in one JVM, started by our launcher from Maven jars
# ---------------------------------------------------------------------------

OPENSEARCH_POM="$HELPERS/opensearch/pom.xml"
OPENSEARCH_LAUNCHER="$HELPERS/opensearch/SpiceOpenSearchNode.java"
opensearch_cache() { echo "$CACHE/opensearch-$(files_hash "$OPENSEARCH_POM")"; }

prepare_opensearch() { ensure_java_and_maven; }

# A launcher compiled once per version into CLASSES against the jars of LIB, by the
# JDK at JDK_HOME; javac is much faster than a source launch on every start.
compile_launcher() {
    local jdk_home="$1" launcher="$2" classes="$3" lib="$4"
    [[ -f "$classes/.complete" ]] && return 0
    rm -rf "$classes" && mkdir -p "$classes"
    "$jdk_home/bin/javac" -nowarn -d "$classes" -cp "$lib/*" "$launcher" >&2 ||
        die "could not compile $launcher"
    touch "$classes/.complete"
}

up_opensearch() {
    local dir port transport_port cache classes
    dir="$(svc_dir opensearch)"
    cache="$(opensearch_cache)"
    fetch_jars "$OPENSEARCH_POM" "$cache"
    classes="$cache/classes-$(files_hash "$OPENSEARCH_LAUNCHER")"
    compile_launcher "$JAVA_HOME" "$OPENSEARCH_LAUNCHER" "$classes" "$cache/lib"

    mkdir -p "$dir/home/config"
    rm -rf "$dir/home/data" "$dir/home/logs"
    cp "$HELPERS/opensearch/log4j2.properties" "$dir/home/config/"
    : >"$(svc_log opensearch)"
    port="$(free_port)"
    transport_port="$(free_port)"
    [[ "$port" != "$transport_port" ]] || transport_port="$(free_port)"
    echo "$port" >"$dir/port"
    echo "$transport_port" >"$dir/transport_port"
    launch_opensearch
}

# Starts the node of the state folder on its recorded ports, with the data it has.
launch_opensearch() {
    local dir cache classes
    dir="$(svc_dir opensearch)"
    cache="$(opensearch_cache)"
    classes="$cache/classes-$(files_hash "$OPENSEARCH_LAUNCHER")"
    # The netty/log4j flags are those of OpenSearch's own jvm.options.
    rm -f "$dir/pid"
    detach "$dir/pid" "$(svc_log opensearch)" "$JAVA" -Xms512m -Xmx1g -XX:+UseG1GC \
        -Djava.awt.headless=true -Dfile.encoding=UTF-8 \
        -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
        -Dio.netty.recycler.maxCapacityPerThread=0 -Dio.netty.allocator.numDirectArenas=0 \
        -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true \
        -cp "$cache/lib/*:$classes" SpiceOpenSearchNode "$dir/home" \
        "$(svc_port opensearch)" "$(cat "$dir/transport_port")"
    wait_until_answers opensearch answers_opensearch "$(svc_port opensearch)"
}

answers_opensearch() { probe opensearch "http://127.0.0.1:$1"; }

down_opensearch() { stop_group opensearch "$(svc_pid opensearch)" 60; }
clean_opensearch() { rm -rf "$(svc_dir opensearch)/home/data"; }
env_opensearch() { echo "export SPICE_TEST_SEARCH_URL=http://127.0.0.1:$1"; }

# ---------------------------------------------------------------------------
# Elasticsearch 9: one node in one JVM, started by our launcher from Maven jars
# ---------------------------------------------------------------------------

ELASTICSEARCH_POM="$HELPERS/elasticsearch/pom.xml"
ELASTICSEARCH_LAUNCHER="$HELPERS/elasticsearch/SpiceElasticsearchNode.java"
ELASTICSEARCH_JDK_DEFAULT=/usr/lib/jvm/temurin-25-jdk-amd64
elasticsearch_cache() { echo "$CACHE/elasticsearch-$(files_hash "$ELASTICSEARCH_POM")"; }
elasticsearch_classes() {
    echo "$(elasticsearch_cache)/classes-$(files_hash "$ELASTICSEARCH_LAUNCHER")"
}

# Elasticsearch 9 needs Java 21+, the rest of this script runs on 17: this JDK is for
# Elasticsearch only. $SPICE_SERVICES_ES_JAVA_HOME may name another JDK 21+.
elasticsearch_java_home() {
    local jdk="${SPICE_SERVICES_ES_JAVA_HOME:-$ELASTICSEARCH_JDK_DEFAULT}" version
    [[ -x "$jdk/bin/java" && -x "$jdk/bin/javac" ]] ||
        die "Elasticsearch 9 needs a JDK 21+: no JDK at $jdk (install Temurin 25 there, or set SPICE_SERVICES_ES_JAVA_HOME to a JDK 21+)"
    version="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$jdk/release" 2>/dev/null)"
    [[ -z "$version" || "$version" -ge 21 ]] ||
        die "Elasticsearch 9 needs a JDK 21+, but $jdk is Java $version"
    echo "$jdk"
}

# Maven (and Java 17 for it) to fetch the jars, the JDK 21+ to compile and run.
prepare_elasticsearch() {
    ensure_java_and_maven
    ES_JAVA_HOME="$(elasticsearch_java_home)"
}

# Elasticsearch's native-access layer (zstd for the best_compression codec, rlimits,
# ...) loads libzstd.so from HOME/lib/platform/<os>-<arch>; the distribution ships
# one, Maven Central does not, Debian's libzstd1 does. Without it native access is off
# and an index with "codec": "best_compression" fails its first refresh. Elastic's
# own SIMD library (libvec) is not on any registry: launch_elasticsearch turns it off.
link_elasticsearch_zstd() {
    local home="$1" arch lib
    case "$(uname -m)" in
        x86_64) arch=x64 ;;
        aarch64) arch=aarch64 ;;
        *) return 0 ;;
    esac
    lib="/usr/lib/$(uname -m)-linux-gnu/libzstd.so.1"  # Debian's multiarch path
    [[ -e "$lib" ]] || return 0
    mkdir -p "$home/lib/platform/linux-$arch"
    ln -sfn "$lib" "$home/lib/platform/linux-$arch/libzstd.so"
}

up_elasticsearch() {
    local dir port transport_port cache
    dir="$(svc_dir elasticsearch)"
    cache="$(elasticsearch_cache)"
    fetch_jars "$ELASTICSEARCH_POM" "$cache"
    compile_launcher "$ES_JAVA_HOME" "$ELASTICSEARCH_LAUNCHER" \
        "$(elasticsearch_classes)" "$cache/lib"

    mkdir -p "$dir/home/config"
    rm -rf "$dir/home/data" "$dir/home/logs"
    cp "$HELPERS/elasticsearch/log4j2.properties" "$dir/home/config/"
    link_elasticsearch_zstd "$dir/home"
    : >"$(svc_log elasticsearch)"
    port="$(free_port)"
    transport_port="$(free_port)"
    [[ "$port" != "$transport_port" ]] || transport_port="$(free_port)"
    echo "$port" >"$dir/port"
    echo "$transport_port" >"$dir/transport_port"
    launch_elasticsearch
}

# Starts the node of the state folder on its recorded ports, with the data it has.
launch_elasticsearch() {
    local dir
    dir="$(svc_dir elasticsearch)"
    # The netty/log4j flags are those of Elasticsearch's own jvm.options; es.path.home
    # is where its native-access layer looks for lib/platform (see link_elasticsearch_zstd).
    rm -f "$dir/pid"
    detach "$dir/pid" "$(svc_log elasticsearch)" "$ES_JAVA_HOME/bin/java" \
        -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true -Dfile.encoding=UTF-8 \
        -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
        -Dio.netty.recycler.maxCapacityPerThread=0 \
        -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true \
        -Des.path.home="$dir/home" -Dorg.elasticsearch.nativeaccess.enableVectorLibrary=false \
        --enable-native-access=ALL-UNNAMED \
        -cp "$(elasticsearch_cache)/lib/*:$(elasticsearch_classes)" \
        org.elasticsearch.node.SpiceElasticsearchNode "$dir/home" \
        "$(svc_port elasticsearch)" "$(cat "$dir/transport_port")"
    wait_until_answers elasticsearch answers_elasticsearch "$(svc_port elasticsearch)"
}

# The same cluster health call as OpenSearch's.
answers_elasticsearch() { probe opensearch "http://127.0.0.1:$1"; }

down_elasticsearch() { stop_group elasticsearch "$(svc_pid elasticsearch)" 60; }
clean_elasticsearch() { rm -rf "$(svc_dir elasticsearch)/home/data"; }
env_elasticsearch() { echo "export SPICE_TEST_ELASTICSEARCH_URL=http://127.0.0.1:$1"; }

# ---------------------------------------------------------------------------
# S3: moto's server (a real HTTP S3 endpoint) from PyPI
# ---------------------------------------------------------------------------

# The project's venv when there is one, else a venv of our own in the cache.
moto_venv() {
    if [[ -x "$REPO_ROOT/.venv/bin/python" ]]; then echo "$REPO_ROOT/.venv"
    else echo "$CACHE/moto-venv"; fi
}

# Only the venv here (it may need apt); the pip install itself runs in up_s3, in
# parallel with the Maven downloads of the others.
prepare_s3() {
    local venv
    venv="$(moto_venv)"
    [[ -x "$venv/bin/python" ]] && return 0
    mkdir -p "$(dirname "$venv")"
    "$(python_cmd)" -m venv "$venv" >/dev/null 2>&1 || {
        apt_install python3-venv
        "$(python_cmd)" -m venv "$venv"
    }
}

install_moto() {
    local venv="$1"
    [[ -x "$venv/bin/moto_server" ]] && return 0
    say "pip install moto[server] into $venv (once)"
    "$venv/bin/pip" install --no-input -q --disable-pip-version-check "moto[server]" >&2 ||
        die "pip could not install moto[server]"
}

up_s3() {
    local dir port venv
    dir="$(svc_dir s3)"
    venv="$(moto_venv)"
    install_moto "$venv"
    mkdir -p "$dir"
    : >"$(svc_log s3)"
    port="$(free_port)"
    echo "$port" >"$dir/port"
    launch_s3
}

# moto keeps its objects in memory: a restarted endpoint is empty.
launch_s3() {
    local dir port
    dir="$(svc_dir s3)"
    port="$(svc_port s3)"
    rm -f "$dir/pid"
    detach "$dir/pid" "$(svc_log s3)" "$(moto_venv)/bin/moto_server" -H 127.0.0.1 -p "$port"
    wait_until_answers s3 answers_s3 "$port"
}

answers_s3() { probe http "http://127.0.0.1:$1/"; }

down_s3() { stop_group s3 "$(svc_pid s3)" 15; }
clean_s3() { :; }
env_s3() { echo "export SPICE_TEST_S3_URL=http://127.0.0.1:$1"; }

# ---------------------------------------------------------------------------
# TerminusDB: built once from the source archives in vendor/terminusdb (no registry
# serves its server), then one executable run on a throwaway store
# ---------------------------------------------------------------------------

TERMINUSDB_SOURCES="$REPO_ROOT/vendor/terminusdb"
# A changed archive or build script names a new folder, so it is built again.
terminusdb_cache() {
    echo "$CACHE/terminusdb-$(files_hash "$TERMINUSDB_SOURCES/SHA256SUMS" "$TERMINUSDB_SOURCES/build.sh")"
}
terminusdb_bin() { echo "$(terminusdb_cache)/terminusdb/terminusdb"; }

# The build takes about nine minutes on two cores the first time; `built` is written
# only after the executable ran, so an interrupted build is resumed, never trusted.
prepare_terminusdb() {
    local cache
    cache="$(terminusdb_cache)"
    if [[ -f "$cache/built" && -x "$(terminusdb_bin)" ]]; then
        # Cached executable: only its run-time packages may be missing.
        command -v swipl >/dev/null 2>&1 && [[ -n "$(ls /usr/lib/*/libjwt.so.* 2>/dev/null)" ]] ||
            apt_install swi-prolog-nox libjwt0
        return 0
    fi
    [[ "$(id -u)" == 0 ]] || die "building TerminusDB needs root for apt-get (see vendor/terminusdb/README.md)"
    mkdir -p "$cache"
    say "building TerminusDB into $cache (once; about 9 minutes on 2 cores; log: $cache/build.log)"
    (
        flock -w 3600 7 || die "another build of TerminusDB holds $cache/.lock"
        [[ -f "$cache/built" ]] && exit 0
        BUILD="$cache" bash "$TERMINUSDB_SOURCES/build.sh" >"$cache/build.log" 2>&1 || {
            echo "[services] error: the TerminusDB build failed; last lines of $cache/build.log:" >&2
            tail -n 40 "$cache/build.log" | sed 's/^/    /' >&2
            exit 1
        }
        date -u +%FT%TZ >"$cache/built"
    ) 7>"$cache/.lock" || die "could not build TerminusDB"
    say "TerminusDB built: $(terminusdb_bin)"
}

up_terminusdb() {
    local dir port
    dir="$(svc_dir terminusdb)"
    mkdir -p "$dir"
    rm -rf "$dir/storage"
    : >"$(svc_log terminusdb)"
    port="$(free_port)"
    echo "$port" >"$dir/port"
    # A generated admin password, kept beside the port for `env`.
    "$(python_cmd)" -c 'import secrets; print(secrets.token_hex(16))' >"$dir/password"
    terminusdb_settings
    (cd "$dir" && env "${TERMINUSDB_ENV[@]}" "$(terminusdb_bin)" store init --key "$(cat "$dir/password")") \
        >>"$(svc_log terminusdb)" 2>&1 || fail_with_log terminusdb "store init failed"
    launch_terminusdb
}

# The server's settings (loopback only, the store under the state folder) as
# NAME=VALUE words for `env`, shared by `store init` and `serve`.
terminusdb_settings() {
    local dir
    dir="$(svc_dir terminusdb)"
    TERMINUSDB_ENV=(TERMINUSDB_SERVER_IP=127.0.0.1 "TERMINUSDB_SERVER_PORT=$(svc_port terminusdb)"
        "TERMINUSDB_SERVER_DB_PATH=$dir/storage/db" TERMINUSDB_LOG_LEVEL=WARNING
        "XDG_DATA_HOME=$(terminusdb_cache)/xdg" LANG=C.UTF-8)
}

launch_terminusdb() {
    local dir
    dir="$(svc_dir terminusdb)"
    rm -f "$dir/pid"
    terminusdb_settings
    (cd "$dir" && detach "$dir/pid" "$(svc_log terminusdb)" env "${TERMINUSDB_ENV[@]}" "$(terminusdb_bin)" serve)
    wait_until_answers terminusdb answers_terminusdb "$(svc_port terminusdb)"
}

answers_terminusdb() {
    probe terminusdb "http://admin:$(cat "$(svc_dir terminusdb)/password")@127.0.0.1:$1"
}

down_terminusdb() { stop_group terminusdb "$(svc_pid terminusdb)" 15; }
clean_terminusdb() { rm -rf "$(svc_dir terminusdb)/storage"; }
env_terminusdb() {
    echo "export SPICE_TEST_TERMINUSDB_URL=terminusdb://admin:$(cat "$(svc_dir terminusdb)/password")@127.0.0.1:$1?team=admin"
}

# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------

check_names() {
    local name known k
    for name in "$@"; do
        known=0
        for k in "${ALL_SERVICES[@]}"; do [[ "$name" == "$k" ]] && known=1; done
        ((known)) || die "unknown service '$name' (known: ${ALL_SERVICES[*]})"
    done
}

# One `up` or `down` at a time per state folder.
lock_state() {
    mkdir -p "$STATE"
    exec 8>"$STATE/.lock"
    flock -w 600 8 || die "another scripts/services.sh holds $STATE/.lock"
}

cmd_up() {
    local names=("$@") name
    ((${#names[@]})) || names=("${ALL_SERVICES[@]}")
    check_names "${names[@]}"
    mkdir -p "$STATE" "$CACHE"
    STATE="$(cd "$STATE" && pwd)"
    lock_state

    # Whatever may need apt is installed first, one after the other: dpkg takes one
    # client at a time.
    local todo=()
    for name in "${names[@]}"; do
        if is_running "$name"; then
            # Left running as it is; only make sure it still answers.
            wait_until_answers "$name" "answers_$name" "$(svc_port "$name")"
            say "$name already running on 127.0.0.1:$(svc_port "$name")"
        else
            "prepare_$name"
            todo+=("$name")
        fi
    done

    # The services themselves start in parallel; the slowest (OpenSearch) sets the pace.
    local -A pids=()
    for name in "${todo[@]}"; do
        say "starting $name"
        ("up_$name") &
        pids[$name]=$!
    done
    local failed=()
    for name in "${todo[@]}"; do
        if wait "${pids[$name]}"; then
            say "$name answers on 127.0.0.1:$(svc_port "$name")"
        else
            failed+=("$name")
        fi
    done
    if ((${#failed[@]})); then
        die "could not start: ${failed[*]} (logs under $STATE; 'scripts/services.sh down' stops the rest)"
    fi
    say "ready; load the variables with: eval \"\$($0 env)\""
}

cmd_env() {
    local name any=0
    for name in "${ALL_SERVICES[@]}"; do
        if is_running "$name"; then
            "env_$name" "$(svc_port "$name")"
            any=1
        fi
    done
    ((any)) || say "no service is running; start them with: $0 up"
    return 0
}

cmd_status() {
    local name
    for name in "${ALL_SERVICES[@]}"; do
        if is_running "$name"; then
            printf '%-13s running  pid %-8s 127.0.0.1:%s\n' "$name" "$(svc_pid "$name")" "$(svc_port "$name")"
        else
            printf '%-13s stopped\n' "$name"
        fi
    done
}

cmd_down() {
    local names=("$@")
    ((${#names[@]})) || names=("${ALL_SERVICES[@]}")
    check_names "${names[@]}"
    [[ -d "$STATE" ]] || { say "nothing to stop"; return 0; }
    STATE="$(cd "$STATE" && pwd)"
    lock_state
    local -A pids=()
    local name
    for name in "${names[@]}"; do
        if is_running "$name"; then
            say "stopping $name"
            ("down_$name" && "clean_$name" && rm -f "$(svc_dir "$name")/pid") &
            pids[$name]=$!
        else
            # Not running (or its pid file is stale): only tidy up what it left.
            "clean_$name" 2>/dev/null || true
            rm -f "$(svc_dir "$name")/pid"
        fi
    done
    local rc=0
    for name in "${!pids[@]}"; do wait "${pids[$name]}" || rc=1; done
    ((rc == 0)) || die "some services did not stop cleanly"
    say "stopped"
}

# For outage tests: stop services but keep what `start` needs (port, data, config).
cmd_stop() {
    (($#)) || die "stop needs the names of the services to stop"
    check_names "$@"
    [[ -d "$STATE" ]] || die "nothing was started under $STATE"
    STATE="$(cd "$STATE" && pwd)"
    lock_state
    local name
    for name in "$@"; do
        if is_running "$name"; then
            say "stopping $name (data and port kept)"
            "down_$name"
            rm -f "$(svc_dir "$name")/pid"
        else
            say "$name is not running"
        fi
    done
}

# Starts services stopped by `stop` again, on the same port, with their data.
cmd_start() {
    (($#)) || die "start needs the names of the services to start"
    check_names "$@"
    STATE="$(cd "$STATE" 2>/dev/null && pwd)" || die "nothing was started under $STATE"
    lock_state
    local name
    for name in "$@"; do
        if is_running "$name"; then
            say "$name already running on 127.0.0.1:$(svc_port "$name")"
            continue
        fi
        [[ -n "$(svc_port "$name")" ]] || die "$name was never started here: use 'up $name'"
        case "$name" in
            kafka | opensearch) ensure_java_and_maven ;;
            elasticsearch) prepare_elasticsearch ;;
            terminusdb) prepare_terminusdb ;;
        esac
        say "starting $name again on 127.0.0.1:$(svc_port "$name")"
        ("launch_$name") || die "could not start $name again"
        say "$name answers on 127.0.0.1:$(svc_port "$name")"
    done
}

main() {
    local command="${1:-}"
    (($#)) && shift
    case "$command" in
        up) cmd_up "$@" ;;
        env) cmd_env ;;
        down) cmd_down "$@" ;;
        status) cmd_status ;;
        stop) cmd_stop "$@" ;;
        start) cmd_start "$@" ;;
        *)
            # the comment block at the top of this file
            sed -n '2,/^[^#]/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
            exit 2
            ;;
    esac
}

main "$@"
