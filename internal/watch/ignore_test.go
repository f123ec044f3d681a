package watch

import "testing"

func TestIgnored(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"main.go", false},
		{"page.html", false},
		{"style.css", false},
		{"config.yaml", false},
		{"app", false},
		{"main.go~", true},
		{".#main.go", true},
		{"#main.go#", true},
		{".main.go.swp", true},
		{".main.go.swx", true},
		{".main.go.swo", true},
		{"4913", true},
		{".DS_Store", true},
		{"config.yaml.tmp", true},
		{"page.html___jb_tmp___", true},
		{"page.html___jb_old___", true},
		{"#notes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Ignored(tt.name); got != tt.want {
				t.Errorf("Ignored(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestIgnoredDir(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"vendor", true},
		{"node_modules", true},
		{".git", true},
		{".hg", true},
		{".svn", true},
		{"bin", true},
		{"dist", true},
		{"template", false},
		{"internal", false},
		{"public", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IgnoredDir(tt.name); got != tt.want {
				t.Errorf("IgnoredDir(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}
