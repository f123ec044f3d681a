package proctest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Builds compiles the programs the process tests run, each package with
// each set of variables once per test binary. It runs the go command of
// PATH (or else of GOROOT) with the test's environment, so that the builds
// share the machine's go build cache with each other, with the other
// package's tests and with the developer's own builds. The binaries go
// into one temporary directory, made at the first build, which
// [Builds.Remove] deletes: TestMain calls it after the tests.
//
// The zero value is ready to use. A Builds is safe for concurrent use;
// concurrent calls for the same build wait for one go build.
type Builds struct {
	mu   sync.Mutex
	dir  string
	bins map[string]*binary
}

// A binary is one build of a Builds: once it is done, path holds the
// binary or err says why the go build failed.
type binary struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the package pkg, a path the go command resolves from the
// test's directory ("./examples/hello"), or the directory of a module of
// its own (one with a go.mod, as "./examples/api"), with the -X assignments vars
// ("name=value", each setting a string variable of package main), and
// returns the path of the binary. It fails the test if the build fails.
func (b *Builds) Build(t testing.TB, pkg string, vars ...string) string {
	t.Helper()
	bin, err := b.binary(pkg, vars)
	if err != nil {
		t.Fatal(err)
	}
	bin.once.Do(func() { bin.err = goBuild(bin.path, pkg, vars) })
	if bin.err != nil {
		t.Fatal(bin.err)
	}
	return bin.path
}

// binary returns the build of pkg with vars, new or under way or done.
func (b *Builds) binary(pkg string, vars []string) (*binary, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir == "" {
		d, err := os.MkdirTemp("", "baton-build-")
		if err != nil {
			return nil, err
		}
		b.dir = d
		b.bins = make(map[string]*binary)
	}
	key := strings.Join(append([]string{pkg}, vars...), "\x00")
	bin := b.bins[key]
	if bin == nil {
		name := fmt.Sprintf("%s-%d", filepath.Base(pkg), len(b.bins))
		bin = &binary{path: filepath.Join(b.dir, name)}
		b.bins[key] = bin
	}
	return bin, nil
}

// Remove deletes the binaries and their directory. A later Build starts
// afresh.
func (b *Builds) Remove() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
	b.dir, b.bins = "", nil
}

// goBuild runs go build -o out for pkg with the -X assignments vars.
func goBuild(out, pkg string, vars []string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"build", "-o", out}
	if len(vars) > 0 {
		ld := make([]string, 0, 2*len(vars))
		for _, v := range vars {
			ld = append(ld, "-X", "'main."+v+"'")
		}
		args = append(args, "-ldflags", strings.Join(ld, " "))
	}
	args = append(args, pkg)
	if _, err := os.Stat(filepath.Join(pkg, "go.mod")); err == nil {
		// A module of its own (examples/api): build it from its directory,
		// with its own go.mod.
		args = append([]string{"-C", pkg}, append(args[:len(args)-1], ".")...)
	}
	if b, err := exec.Command(goBin, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// Install copies the binary src to dst the way a deployment does: it
// writes a temporary file beside dst and renames it over dst, so that a
// program that runs or watches dst never sees a half-written file. It
// copies rather than links, so that a test may change the mode or owner of
// its dst without changing src, which other tests share.
func Install(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	os.Remove(tmp) // a leftover would keep its mode
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
