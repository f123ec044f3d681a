//go:build unix && !aix

package proc

import (
	"strings"
	"testing"
)

func TestStoreName(t *testing.T) {
	for _, tt := range []struct {
		key, want string
	}{
		{"default/http/0/:8199", "baton=default/http/0/%3A8199"},
		{"api/https/0/[::1]:0", "baton=api/https/0/[%3A%3A1]%3A0"},
		{"a%b c", "baton=a%25b%20c"},
		{strings.Repeat("x", 300), ""},
	} {
		t.Run(tt.key, func(t *testing.T) {
			got := storeName(tt.key)
			if got != tt.want {
				t.Fatalf("storeName(%q) = %q, want %q", tt.key, got, tt.want)
			}
			if got == "" {
				return
			}
			if key, ok := parseStoreName(got); !ok || key != tt.key {
				t.Errorf("parseStoreName(%q) = %q, %v; want %q", got, key, ok, tt.key)
			}
		})
	}
	for _, name := range []string{"http", "baton=%4", "baton=%zz"} {
		if key, ok := parseStoreName(name); ok {
			t.Errorf("parseStoreName(%q) = %q, true; want false", name, key)
		}
	}
}

func FuzzStoreName(f *testing.F) {
	f.Add("default/http/0/:8199")
	f.Fuzz(func(t *testing.T, key string) {
		name := storeName(key)
		if name == "" {
			return
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; c <= ' ' || c >= 0x7f || c == ':' {
				t.Fatalf("storeName(%q) = %q: byte %q is not allowed in FDNAME", key, name, c)
			}
		}
		if got, ok := parseStoreName(name); !ok || got != key {
			t.Fatalf("parseStoreName(storeName(%q)) = %q, %v", key, got, ok)
		}
	})
}
