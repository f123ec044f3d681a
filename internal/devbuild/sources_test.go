package devbuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIgnoredName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"main.go", false},
		{"page.html", false},
		{"main.go~", true},
		{".#main.go", true},
		{"#main.go#", true},
		{".main.go.swp", true},
		{".main.go.swx", true},
		{"4913", true},
		{"config.yaml.tmp", true},
		{probePrefix + "123", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ignoredName(tt.name); got != tt.want {
				t.Errorf("ignoredName(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestFindModuleRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := findModuleRoot(deep)
	if err != nil || got != root {
		t.Errorf("findModuleRoot(%q) = %q, %v; want %q", deep, got, err, root)
	}
}

// sourceTree makes a module with a main package, a library package that
// embeds a directory, a template directory, vendor/ and node_modules/.
func sourceTree(t *testing.T) (root string, set *sourceSet) {
	t.Helper()
	root = t.TempDir()
	files := map[string]string{
		"go.mod":                  "module example.com/app\n",
		"go.sum":                  "",
		"cmd/app/main.go":         "package main\n",
		"cmd/app/main_test.go":    "package main\n",
		"cmd/app/template/a.html": "<p>a</p>",
		"lib/lib.go":              "package lib\n",
		"lib/assets/x.css":        "x{}",
		"vendor/v/v.go":           "package v\n",
		"node_modules/m/m.js":     "",
		"config.yaml":             "a: 1\n",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := `{"ImportPath":"fmt","Dir":"/usr/lib/go/src/fmt","Standard":true,"GoFiles":["print.go"]}
{"ImportPath":"example.com/app/lib","Dir":"` + filepath.Join(root, "lib") + `","Module":{"Path":"example.com/app","Main":true},"GoFiles":["lib.go"],"EmbedFiles":["assets/x.css"]}
{"ImportPath":"github.com/other/dep","Dir":"/mod/dep","Module":{"Path":"github.com/other/dep"},"GoFiles":["dep.go"]}
{"ImportPath":"example.com/app/cmd/app","Dir":"` + filepath.Join(root, "cmd/app") + `","Module":{"Path":"example.com/app","Main":true},"GoFiles":["main.go"]}
`
	pkgs, err := parseGoList(strings.NewReader(out), "example.com/app")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 {
		t.Fatalf("parseGoList kept %d packages, want the 2 of the main module", len(pkgs))
	}
	return root, newSourceSet(root, "example.com/app/cmd/app", pkgs, []string{filepath.Join(root, "config.yaml")})
}

func TestSourceSetClassify(t *testing.T) {
	root, set := sourceTree(t)
	if want := filepath.Join(root, "cmd/app"); set.mainDir != want {
		t.Errorf("mainDir = %q, want %q", set.mainDir, want)
	}
	tests := []struct {
		file string
		want fileClass
	}{
		{"cmd/app/main.go", classBuild},
		{"cmd/app/new.go", classBuild},
		{"cmd/app/main_test.go", classIgnore},
		{"cmd/app/main.go~", classIgnore},
		{"cmd/app/.main.go.swp", classIgnore},
		{"cmd/app/4913", classIgnore},
		{"cmd/app/app", classIgnore}, // go build's output in the package directory
		{"cmd/app/template/a.html", classRefresh},
		{"lib/lib.go", classBuild},
		{"lib/assets/x.css", classBuild},
		{"lib/assets/new.css", classBuild},
		{"go.mod", classBuild},
		{"go.sum", classBuild},
		{"config.yaml", classRefresh},
		{"vendor/v/v.go", classIgnore},
		{"node_modules/m/m.js", classIgnore},
		{"README.md", classIgnore},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if got := set.classify(filepath.Join(root, tt.file)); got != tt.want {
				t.Errorf("classify(%q) = %d, want %d", tt.file, got, tt.want)
			}
		})
	}
	dirs := set.dirs()
	for _, d := range []string{"", "cmd/app", "cmd/app/template", "lib", "lib/assets"} {
		want := filepath.Join(root, d)
		found := false
		for _, got := range dirs {
			found = found || got == want
		}
		if !found {
			t.Errorf("dirs() = %q, lacks %q", dirs, want)
		}
	}
}

func TestSourceSetHash(t *testing.T) {
	root, set := sourceTree(t)
	h0 := set.hash()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cmd/app/template/a.html", "<p>b</p>")
	write("cmd/app/main_test.go", "package main // changed\n")
	write("cmd/app/.main.go.swp", "junk")
	if h := set.hash(); h != h0 {
		t.Error("the hash changed for files that are not build inputs")
	}
	write("cmd/app/main.go", "package main\n")
	if h := set.hash(); h != h0 {
		t.Error("the hash changed when main.go was saved unchanged")
	}
	write("cmd/app/main.go", "package main // edited\n")
	h1 := set.hash()
	if h1 == h0 {
		t.Error("the hash did not change for an edited main.go")
	}
	write("lib/assets/x.css", "y{}")
	if set.hash() == h1 {
		t.Error("the hash did not change for an edited embedded file")
	}
}

func FuzzParseGoList(f *testing.F) {
	f.Add(`{"ImportPath":"a/b","Dir":"/x","Module":{"Path":"a"},"GoFiles":["b.go"],"EmbedFiles":["t/x.html"]}`)
	f.Add(`{"ImportPath":"fmt","Standard":true}{"Dir":""}`)
	f.Add(`{"Module":null}`)
	f.Fuzz(func(t *testing.T, s string) {
		pkgs, err := parseGoList(strings.NewReader(s), "a")
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Module == nil || p.Module.Path != "a" || p.Dir == "" || p.Standard {
				t.Fatalf("parseGoList kept %+v", p)
			}
		}
		newSourceSet(t.TempDir(), "a/b", pkgs, nil).dirs()
	})
}
