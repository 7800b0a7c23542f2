#!/usr/bin/env bash
# Builds, on a build machine (JDK 25 and Maven, no GPU needed), everything run-gpu-checks.sh needs on the GPU
# machine, which needs CUDA and PyTorch but no Java:
#   .gpu/jdk      a jlink'd Java 25 runtime (java.base, jdk.incubator.vector, ...; no compiler)
#   .gpu/lib      the storage and engine jars, the engine's test classes as a jar, JUnit and its launcher
#   .gpu/runner   GpuTestRunner.class (runs JUnit without Maven)
# (.gitignore keeps the bundle out of commits). Copy .gpu into the checkout on the GPU machine, e.g.
# rsync -a .gpu/ gpu-host:longnet-java/.gpu/ (about 56 MiB; this script prints its size).
#
#   bench/gpu/prepare-gpu-bundle.sh       # from anywhere in the repository; about a minute
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
jbin="$JAVA_HOME/bin"
mvn_q() { mvn -B -q -ntp "$@"; }

rm -rf .gpu
mkdir -p .gpu/lib .gpu/runner
echo "== building storage and engine (tests compiled, not run) and listing the test classpath"
# One reactor run: storage resolves from the reactor, nothing is installed into ~/.m2. Each module writes the
# classpath file in turn; the engine, built last, leaves its own.
mvn_q -pl engine -am package dependency:build-classpath -DskipTests -Dmdep.includeScope=test \
  -Dmdep.outputFile="$root/.gpu/deps.classpath"
version=$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' pom.xml | head -n1)
cp "storage/target/longnet-storage-$version.jar" "engine/target/longnet-engine-$version.jar" .gpu/lib/
"$jbin/jar" --create --file .gpu/lib/longnet-engine-tests.jar -C engine/target/test-classes .
tr ':' '\n' < .gpu/deps.classpath | grep -E '\.jar$' | grep -v 'longnet-' | while read -r jar; do
  cp "$jar" .gpu/lib/
done
# The launcher is not a dependency of the engine (surefire brings its own); take the one matching junit-platform-engine.
platform=$(ls .gpu/lib | sed -n 's/^junit-platform-engine-\(.*\)\.jar$/\1/p' | head -n1)
launcher="$HOME/.m2/repository/org/junit/platform/junit-platform-launcher/$platform/junit-platform-launcher-$platform.jar"
if [[ ! -f "$launcher" ]]; then
  mvn_q dependency:get -Dartifact="org.junit.platform:junit-platform-launcher:$platform"
fi
cp "$launcher" .gpu/lib/
rm -f .gpu/deps.classpath

echo "== GpuTestRunner"
"$jbin/javac" -d .gpu/runner -cp ".gpu/lib/*" bench/gpu/GpuTestRunner.java

echo "== jlink"
# A fixed list, not jdeps's (which pulls in java.desktop and more for JUnit, a much larger runtime to copy): the engine needs java.base and the Vector API; JUnit needs java.logging; java.management and
# jdk.unsupported are cheap insurance; jdk.zipfs lets JUnit scan packages inside jars. The smoke test below runs
# JUnit on this runtime.
modules="java.base,jdk.incubator.vector,java.management,jdk.unsupported,java.logging,jdk.zipfs"
"$jbin/jlink" --add-modules "$modules" --output .gpu/jdk --strip-debug --no-header-files --no-man-pages \
  --compress=zip-9


echo "== smoke test with the bundled runtime (no GPU here: the CUDA tests must skip, the rest pass)"
.gpu/jdk/bin/java --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp ".gpu/lib/*:.gpu/runner" \
  GpuTestRunner dev.longnet.engine.cuda | tail -n 3
du -sh .gpu .gpu/jdk .gpu/lib
echo "ready: copy .gpu into the checkout on the GPU machine and run bash bench/gpu/run-gpu-checks.sh there"
