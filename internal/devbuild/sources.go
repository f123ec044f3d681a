package devbuild

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/baton-go/baton/internal/watch"
	"github.com/baton-go/baton/proc"
)

// probePrefix names the file development mode writes once at start to
// learn whether file events arrive (see Builder.probe).
const probePrefix = ".baton-probe-"

// listPackage is the part of a package in the output of go list -json
// that development mode reads.
type listPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	Module     *struct {
		Path string
		Main bool
		Dir  string
	}
	GoFiles, CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles []string
	SwigFiles, SwigCXXFiles, SysoFiles, EmbedFiles                      []string
}

// listFields are the fields asked of go list -json.
const listFields = "ImportPath,Dir,Standard,Module,GoFiles,CgoFiles,CFiles,CXXFiles,MFiles,HFiles,FFiles,SFiles,SwigFiles,SwigCXXFiles,SysoFiles,EmbedFiles"

// parseGoList reads the stream of JSON objects go list -json writes and
// returns the packages of module mod.
func parseGoList(r io.Reader, mod string) ([]listPackage, error) {
	dec := json.NewDecoder(r)
	var pkgs []listPackage
	for {
		var p listPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return pkgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("baton: go list output: %w", err)
		}
		if p.Standard || p.Module == nil || p.Module.Path != mod || p.Dir == "" {
			continue
		}
		pkgs = append(pkgs, p)
	}
}

// findModuleRoot returns the closest directory at or above dir that holds a
// go.mod file.
func findModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("baton: module root: %w", err)
	}
	for d := dir; ; {
		if fi, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && fi.Mode().IsRegular() {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("baton: no go.mod at or above %s: %w", dir, proc.ErrDevUnavailable)
		}
		d = parent
	}
}

// ignoredName reports whether a file name is never a reason to build or
// refresh: an editor's file (watch.Ignored) or the probe.
func ignoredName(name string) bool {
	return watch.Ignored(name) || strings.HasPrefix(name, probePrefix)
}

// buildExt reports whether a file with this name is an input of go build
// when it sits in a package directory.
func buildExt(name string) bool {
	if strings.HasSuffix(name, "_test.go") {
		return false
	}
	switch filepath.Ext(name) {
	case ".go", ".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".m",
		".s", ".S", ".sx", ".syso", ".f", ".F", ".for", ".f90", ".swig", ".swigcxx":
		return true
	}
	return false
}

// templateDirs are the names of directories, next to a package of the
// program or at the module root, whose files are read at run time (not
// built in): a change to them refreshes pages without a build.
var templateDirs = []string{"template", "templates", "views"}

// fileClass is what a change to a file asks for.
type fileClass int

const (
	classIgnore  fileClass = iota
	classRefresh           // pages reload; no build
	classBuild             // go build, then a reload
)

// sourceSet is what development mode watches: the directories of the
// program's packages in its main module, the files they embed, template
// directories and extra files (the configuration file).
type sourceSet struct {
	root         string          // module root: go.mod, go.sum
	mainDir      string          // the main package's directory
	pkgDirs      map[string]bool // package directories
	embedFiles   map[string]bool
	embedDirs    map[string]bool // directories holding embedded files
	refreshDirs  map[string]bool // template directories and their subdirectories
	refreshFiles map[string]bool
}

// newSourceSet describes the sources of the main package mainPkg, given
// the packages go list reported for it and extra files that refresh.
func newSourceSet(root, mainPkg string, pkgs []listPackage, extra []string) *sourceSet {
	s := &sourceSet{
		root:         filepath.Clean(root),
		pkgDirs:      make(map[string]bool),
		embedFiles:   make(map[string]bool),
		embedDirs:    make(map[string]bool),
		refreshDirs:  make(map[string]bool),
		refreshFiles: make(map[string]bool),
	}
	for _, p := range pkgs {
		dir := filepath.Clean(p.Dir)
		s.pkgDirs[dir] = true
		if p.ImportPath == mainPkg {
			s.mainDir = dir
		}
		for _, e := range p.EmbedFiles {
			f := filepath.Join(dir, e)
			s.embedFiles[f] = true
			for d := filepath.Dir(f); d != dir && strings.HasPrefix(d, dir); d = filepath.Dir(d) {
				s.embedDirs[d] = true
			}
		}
	}
	if s.mainDir == "" {
		s.mainDir = s.root
	}
	bases := []string{s.root}
	for d := range s.pkgDirs {
		bases = append(bases, d)
	}
	for _, b := range bases {
		for _, name := range templateDirs {
			s.addTree(filepath.Join(b, name))
		}
	}
	for _, f := range extra {
		if f == "" {
			continue
		}
		if abs, err := filepath.Abs(f); err == nil {
			s.refreshFiles[abs] = true
		}
	}
	return s
}

// addTree adds dir and its subdirectories, if dir exists, as refresh
// directories, unless they hold embedded files (then they are build
// inputs).
func (s *sourceSet) addTree(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if p != dir && (watch.IgnoredDir(d.Name()) || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !s.embedDirs[p] {
			s.refreshDirs[p] = true
		}
		return nil
	})
}

// dirs returns every directory to watch, sorted.
func (s *sourceSet) dirs() []string {
	set := map[string]bool{s.root: true}
	for _, m := range []map[string]bool{s.pkgDirs, s.embedDirs, s.refreshDirs} {
		for d := range m {
			set[d] = true
		}
	}
	for f := range s.refreshFiles {
		set[filepath.Dir(f)] = true
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// underIgnoredDir reports whether path lies in an ignored directory below
// the module root.
func (s *sourceSet) underIgnoredDir(path string) bool {
	rel, err := filepath.Rel(s.root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	parts := strings.Split(filepath.Dir(rel), string(filepath.Separator))
	return slices.ContainsFunc(parts, watch.IgnoredDir)
}

// classify says what a change to the file at path asks for.
func (s *sourceSet) classify(path string) fileClass {
	path = filepath.Clean(path)
	name := filepath.Base(path)
	if ignoredName(name) || s.underIgnoredDir(path) {
		return classIgnore
	}
	if s.refreshFiles[path] {
		return classRefresh
	}
	dir := filepath.Dir(path)
	switch {
	case dir == s.root && (name == "go.mod" || name == "go.sum" || name == "go.work" || name == "go.work.sum"):
		return classBuild
	case s.pkgDirs[dir] && buildExt(name):
		return classBuild
	case s.embedFiles[path] || s.embedDirs[dir]:
		return classBuild
	case s.refreshDirs[dir]:
		return classRefresh
	}
	return classIgnore
}

// newest returns the latest modification time of the build inputs.
func (s *sourceSet) newest() time.Time {
	var t time.Time
	for _, f := range s.inputs() {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// hash returns a digest of the names and contents of every build input
// now on disk: the build-relevant files of each package directory (new
// ones included), the files below directories holding embedded files,
// the embedded files, go.mod and go.sum. Two equal digests mean go build
// would build the same program.
func (s *sourceSet) hash() [32]byte {
	h := sha256.New()
	for _, f := range s.inputs() {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone, or never there (go.work)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// inputs lists the paths of the build inputs, sorted; some may not exist.
func (s *sourceSet) inputs() []string {
	files := make(map[string]bool)
	for f := range s.embedFiles {
		files[f] = true
	}
	for _, n := range []string{"go.mod", "go.sum", "go.work", "go.work.sum"} {
		files[filepath.Join(s.root, n)] = true
	}
	for d := range s.pkgDirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if !e.IsDir() && buildExt(e.Name()) && !ignoredName(e.Name()) {
				files[filepath.Join(d, e.Name())] = true
			}
		}
	}
	for d := range s.embedDirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if !e.IsDir() && !ignoredName(e.Name()) {
				files[filepath.Join(d, e.Name())] = true
			}
		}
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	slices.Sort(names)
	return names
}
