# Sourced by kafka.sh: finding Java and installing the Kafka jars (Maven) and the readiness probe
# once per version into $INSTALL_DIR. Uses kafka.sh's settings (KAFKA_VERSION, KAFKA_TOOLS, ASSETS_DIR,
# INSTALL_DIR, LIBS_DIR, ...) and its say/die. Not a command of its own.

# ---------------------------------------------------------------------------------------------
# tools

find_java() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        JAVA="$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        JAVA="$(command -v java)"
    else
        die "java not found (need Java 17+ on PATH or JAVA_HOME; e.g. apt-get install openjdk-17-jdk-headless)"
    fi
    local spec major
    spec="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    major="${spec#1.}"; major="${major%%.*}"
    [[ "$major" =~ ^[0-9]+$ ]] || die "cannot tell the version of $JAVA"
    (( major >= 17 )) || die "$JAVA is Java $spec; Kafka 4.x needs Java 17+"
}

find_javac() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/javac" ]]; then
        JAVAC="$JAVA_HOME/bin/javac"
    elif [[ -x "$(dirname "$(readlink -f "$JAVA")")/javac" ]]; then
        JAVAC="$(dirname "$(readlink -f "$JAVA")")/javac"
    elif command -v javac >/dev/null 2>&1; then
        JAVAC="$(command -v javac)"
    else
        die "javac not found (need a JDK, not only a JRE; e.g. apt-get install openjdk-17-jdk-headless)"
    fi
}

# ---------------------------------------------------------------------------------------------
# install

# Anything that changes the resolved classpath or the probe changes this key -> reinstall.
install_key() {
    {
        echo "kafka=$KAFKA_VERSION tools=$KAFKA_TOOLS log4j=$LOG4J_VERSION slf4j=$SLF4J_VERSION"
        cat "$ASSETS_DIR/pom.xml" "$ASSETS_DIR/KafkaProbe.java"
    } | sha256sum | cut -c1-16
}

installed() {
    [[ -f "$INSTALL_DIR/.installed" && "$(cat "$INSTALL_DIR/.installed")" == "$(install_key)" ]]
}

install() {
    for f in pom.xml KafkaProbe.java log4j2.xml tools-log4j2.xml; do
        [[ -f "$ASSETS_DIR/$f" ]] || die "missing $ASSETS_DIR/$f"
    done
    installed && return 0
    mkdir -p "$SERVICES_DIR"
    # Serialize concurrent installs of the same version.
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$SERVICES_DIR/.kafka-$KAFKA_VERSION.lock"
        flock 9
        installed && return 0
    fi
    command -v mvn >/dev/null 2>&1 ||
        die "mvn not found: Maven is needed once to fetch the Kafka jars (e.g. apt-get install maven)"
    find_javac

    say "installing Kafka $KAFKA_VERSION (tools=$KAFKA_TOOLS) into $INSTALL_DIR ..."
    local t0=$SECONDS tmp="$INSTALL_DIR.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    local mvn_args=(-B -q -ntp -f "$ASSETS_DIR/pom.xml"
        "-Dkafka.version=$KAFKA_VERSION" "-Dlog4j.version=$LOG4J_VERSION" "-Dslf4j.version=$SLF4J_VERSION"
        -DincludeScope=runtime "-DoutputDirectory=$tmp/libs")
    [[ "$KAFKA_TOOLS" == 1 ]] || mvn_args+=(-DskipTools)
    if ! mvn "${mvn_args[@]}" dependency:copy-dependencies >"$tmp/mvn.log" 2>&1; then
        tail -n 40 "$tmp/mvn.log" >&2
        rm -rf "$tmp"
        if [[ "$KAFKA_TOOLS" == 1 ]]; then
            die "Maven could not resolve Kafka $KAFKA_VERSION (if only org.apache.kafka:kafka-tools is missing for this version, retry with KAFKA_TOOLS=0)"
        fi
        die "Maven could not resolve Kafka $KAFKA_VERSION"
    fi
    ls "$tmp/libs/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null 2>&1 ||
        die "kafka_2.13-$KAFKA_VERSION.jar missing after resolution (see $tmp/mvn.log)"

    mkdir -p "$tmp/probe"
    "$JAVAC" -nowarn -d "$tmp/probe" -cp "$tmp/libs/*" "$ASSETS_DIR/KafkaProbe.java" >"$tmp/javac.log" 2>&1 || {
        cat "$tmp/javac.log" >&2
        die "could not compile the readiness probe"
    }
    install_key >"$tmp/.installed"
    rm -rf "$INSTALL_DIR"
    mv "$tmp" "$INSTALL_DIR"
    say "installed Kafka $KAFKA_VERSION ($(find "$LIBS_DIR" -name '*.jar' | wc -l) jars) in $((SECONDS - t0)) s"
}

