package vrule

import "testing"

func TestIsEmail(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a@example.com", true},
		{"first.last+tag@sub.example.org", true},
		{"user_name-1@example.co.uk", true},
		{"", false},
		{"not-an-email", false},
		{"a@", false},
		{"@example.com", false},
		{"a@localhost", false},
		{"a@example.", false},
		{"a@.example.com", false},
		{"a@@example.com", false},
		{"Ann <a@example.com>", false},
		{"<a@example.com>", false},
		{" a@example.com", false},
		{"a b@example.com", false},
		{"a@example.com, b@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := isEmail(tt.in); got != tt.want {
				t.Errorf("isEmail(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsURL(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"https://example.com", true},
		{"http://example.com:8080/a/b?c=d#e", true},
		{"ftp://user@host/file", true},
		{"mailto:a@example.com", true},
		{"file:///etc/hosts", true},
		{"", false},
		{"example.com", false},
		{"/relative/path", false},
		{"//example.com/x", false},
		{"http://", false},
		{"http:// example.com", false},
		{"file://", false},
		{"://example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := isURL(tt.in); got != tt.want {
				t.Errorf("isURL(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
